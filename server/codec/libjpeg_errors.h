// LibjpegErrors: the error handling every libjpeg object in the codec uses.
// libjpeg reports errors through error_exit, which must not return: jump back
// to the caller with the message instead of letting libjpeg exit(). One per
// libjpeg object set; not thread-safe. Internal to server/codec.
#ifndef INPUTSERVE_SERVER_CODEC_LIBJPEG_ERRORS_H_
#define INPUTSERVE_SERVER_CODEC_LIBJPEG_ERRORS_H_

// clang-format off
#include <csetjmp>
#include <cstdio>  // jpeglib.h needs FILE.
#include <jpeglib.h>
#include <jerror.h>
// clang-format on

namespace inputserve {

// Progressive files can hold thousands of tiny scans, each costing a pass
// over the coefficients: cap them (TurboJPEG 3 caps at 500 by default too).
constexpr int kMaxJpegScans = 500;

struct LibjpegErrors {
  std::jmp_buf jump;
  char message[JMSG_LENGTH_MAX] = {};
  jpeg_progress_mgr progress = {};

  // Routes `err` (and, for a decompressor, the scan cap) to this object:
  // call before jpeg_create_*, and set `common->client_data` to this after.
  void Arm(jpeg_error_mgr* err) {
    jpeg_std_error(err);
    err->error_exit = &ErrorExit;
    err->output_message = &OutputMessage;
    err->emit_message = &EmitMessage;
    progress.progress_monitor = &Progress;
  }

  static LibjpegErrors* From(j_common_ptr c) {
    return static_cast<LibjpegErrors*>(c->client_data);
  }
  [[noreturn]] static void Fail(j_common_ptr c) {
    LibjpegErrors* s = From(c);
    (*c->err->format_message)(c, s->message);
    std::longjmp(s->jump, 1);
  }
  static void ErrorExit(j_common_ptr c) { Fail(c); }
  // Silence: libjpeg would print to stderr. Warnings are tolerated except a
  // premature end of data, which means the image is cut short.
  static void OutputMessage(j_common_ptr) {}
  static void EmitMessage(j_common_ptr c, int level) {
    if (level < 0) {
      if (c->err->msg_code == JWRN_JPEG_EOF) Fail(c);
      c->err->num_warnings++;
    }
  }
  static void Progress(j_common_ptr c) {
    auto* d = reinterpret_cast<j_decompress_ptr>(c);
    if (d->input_scan_number > kMaxJpegScans) {
      LibjpegErrors* s = From(c);
      std::snprintf(s->message, sizeof(s->message),
                    "more than %d progressive scans", kMaxJpegScans);
      std::longjmp(s->jump, 1);
    }
  }
};

// Runs `f`, which calls libjpeg, with errors->jump armed; false if libjpeg
// failed. On a libjpeg error the longjmp lands here and `f`'s frame is
// abandoned, so callers pass lambdas that hold only trivially destructible
// locals; C++ objects live outside.
template <typename F>
bool Guarded(LibjpegErrors* errors, F&& f) {
  if (setjmp(errors->jump) != 0) return false;
  f();
  return true;
}

}  // namespace inputserve

#endif  // INPUTSERVE_SERVER_CODEC_LIBJPEG_ERRORS_H_
