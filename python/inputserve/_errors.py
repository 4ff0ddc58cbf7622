"""Exceptions of the inputserve client: one class per gRPC status code used.

Every error is an ``inputserve.Error`` carrying ``code`` (the gRPC status
code name, e.g. ``"UNAVAILABLE"``) and ``message`` (the C++ client's text).
"""


class Error(Exception):
    """An inputserve call failed; ``code`` names the gRPC status code."""

    code = "UNKNOWN"

    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


class Cancelled(Error):
    """The call was cancelled."""


class Unknown(Error):
    """An error with no better code."""


class InvalidArgument(Error):
    """A bad option or request: the message names it and the allowed values."""


class DeadlineExceeded(Error):
    """A deadline passed first."""


class NotFound(Error):
    """Something named does not exist."""


class PermissionDenied(Error):
    """Not allowed."""


class ResourceExhausted(Error):
    """Out of memory, or the server is over --max_streams."""


class FailedPrecondition(Error):
    """The object is not in a state that allows the call (e.g. closed)."""


class Aborted(Error):
    """Aborted; may be retried."""


class OutOfRange(Error):
    """Past the end (of the requested epochs)."""


class Unimplemented(Error):
    """Not implemented by this server or build."""


class Internal(Error):
    """A broken invariant (a bug) or a device runtime error."""


class Unavailable(Error):
    """No server answered in time; the message lists each target's status."""


class DataLoss(Error):
    """Data arrived corrupt (e.g. a malformed chunk sequence)."""


class Unauthenticated(Error):
    """A missing or wrong bearer token."""


_BY_CODE = {
    "CANCELLED": Cancelled,
    "UNKNOWN": Unknown,
    "INVALID_ARGUMENT": InvalidArgument,
    "DEADLINE_EXCEEDED": DeadlineExceeded,
    "NOT_FOUND": NotFound,
    "PERMISSION_DENIED": PermissionDenied,
    "RESOURCE_EXHAUSTED": ResourceExhausted,
    "FAILED_PRECONDITION": FailedPrecondition,
    "ABORTED": Aborted,
    "OUT_OF_RANGE": OutOfRange,
    "UNIMPLEMENTED": Unimplemented,
    "INTERNAL": Internal,
    "UNAVAILABLE": Unavailable,
    "DATA_LOSS": DataLoss,
    "UNAUTHENTICATED": Unauthenticated,
}


def _from_status(code: str, message: str) -> Error:
    """The exception for a C++ status (called by the extension)."""
    return _BY_CODE.get(code, Error)(code, message)
