#include "python/src/status_error.h"

#include "pybind11/pybind11.h"

namespace py = pybind11;

namespace inputserve::python {

void RegisterStatusErrors() {
  py::register_exception_translator([](std::exception_ptr p) {
    try {
      if (p) std::rethrow_exception(p);
    } catch (const StatusError& e) {
      // The hierarchy lives in Python; build the instance there.
      py::object error = py::module_::import("inputserve._errors")
                             .attr("_from_status")(
                                 absl::StatusCodeToString(e.status().code()),
                                 std::string(e.status().message()));
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(error.ptr())),
                      error.ptr());
    }
  });
}

}  // namespace inputserve::python
