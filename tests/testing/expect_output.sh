#!/bin/sh
# Runs a command and passes only when it exits with the expected status AND
# its output (stdout and stderr together) has a line matching a regex.
# ctest's PASS_REGULAR_EXPRESSION alone ignores the exit status; use this.
#   expect_output.sh EXIT REGEX COMMAND [ARG...]
# EXIT is a number or "nonzero"; REGEX is a grep -E pattern.
if [ $# -lt 3 ]; then
  echo "usage: expect_output.sh EXIT REGEX COMMAND [ARG...]" >&2
  exit 2
fi
expected=$1
regex=$2
shift 2
output=$("$@" 2>&1)
status=$?
printf '%s\n' "$output"
fail=0
case $expected in
  nonzero)
    if [ "$status" -eq 0 ]; then
      echo "expect_output: FAIL: '$1' exited 0, expected a non-zero status" >&2
      fail=1
    fi ;;
  *)
    if [ "$status" -ne "$expected" ]; then
      echo "expect_output: FAIL: '$1' exited $status, expected $expected" >&2
      fail=1
    fi ;;
esac
if ! printf '%s\n' "$output" | grep -E -q -e "$regex"; then
  echo "expect_output: FAIL: no output line matches '$regex'" >&2
  fail=1
fi
exit $fail
