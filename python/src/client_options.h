// ClientOptions from the keyword arguments of inputserve.Client, passed as a
// dict by the Python layer. Unknown keys and bad values raise StatusError
// (INVALID_ARGUMENT naming the key), so typos never go unnoticed.
#ifndef INPUTSERVE_PYTHON_SRC_CLIENT_OPTIONS_H_
#define INPUTSERVE_PYTHON_SRC_CLIENT_OPTIONS_H_

#include "inputserve/options.h"
#include "pybind11/pybind11.h"

namespace inputserve::python {

ClientOptions ParseClientOptions(const pybind11::dict& options);

}  // namespace inputserve::python

#endif  // INPUTSERVE_PYTHON_SRC_CLIENT_OPTIONS_H_
