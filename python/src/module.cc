// inputserve._inputserve: the pybind11 layer over the C++ client. It only
// converts: options from a dict, batches to zero-copy views, statuses to
// exceptions. Iteration, the Mapping interface, errors and the PyTorch
// dataset are Python (inputserve/*.py).
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "inputserve/client.h"
#include "pybind11/numpy.h"
#include "pybind11/pybind11.h"
#include "pybind11/stl.h"
#include "python/src/client_options.h"
#include "python/src/status_error.h"
#include "python/src/tensor.h"

namespace py = pybind11;

namespace inputserve::python {
namespace {

// How long one wait for a batch lasts before Python gets a chance to run
// signal handlers (Ctrl-C).
constexpr absl::Duration kWaitSlice = absl::Milliseconds(50);

const char* ModeName(BatchMode mode) {
  return mode == BatchMode::kSynthetic ? "synthetic" : "real";
}

// A batch handle; its views keep it alive through their base object.
class PyBatch {
 public:
  explicit PyBatch(std::shared_ptr<const Batch> batch)
      : batch_(std::move(batch)) {}

  const Batch& get() const {
    if (batch_ == nullptr) {
      throw StatusError(absl::FailedPreconditionError(
          "the batch was released; views taken before stay valid"));
    }
    return *batch_;
  }
  const std::shared_ptr<const Batch>& handle() const {
    get();
    return batch_;
  }
  // Drops this object's reference; views still alive keep the memory.
  void Release() { batch_.reset(); }

 private:
  std::shared_ptr<const Batch> batch_;
};

// A tensor that exports itself through DLPack (host or CUDA memory).
class PyTensor {
 public:
  explicit PyTensor(TensorRef ref) : ref_(std::move(ref)) {}
  const TensorRef& ref() const { return ref_; }

 private:
  TensorRef ref_;
};

class PyClient {
 public:
  explicit PyClient(const py::dict& options) {
    ClientOptions parsed = ParseClientOptions(options);
    absl::StatusOr<std::unique_ptr<Client>> client;
    {
      py::gil_scoped_release release;
      client = Client::Create(std::move(parsed));
    }
    ThrowIfError(client.status());
    client_ = std::shared_ptr<Client>(*std::move(client));
  }

  ~PyClient() { Close(); }

  // The next batch; waits in slices so Ctrl-C raises KeyboardInterrupt.
  PyBatch Next() {
    while (true) {
      absl::StatusOr<std::shared_ptr<const Batch>> batch;
      {
        py::gil_scoped_release release;
        std::lock_guard<std::mutex> one_at_a_time(next_mu_);
        std::shared_ptr<Client> client = Get();
        if (client == nullptr) {
          batch = absl::FailedPreconditionError("the client is closed");
        } else {
          batch = client->TryNextShared(kWaitSlice);
        }
      }
      if (batch.ok()) return PyBatch(*std::move(batch));
      if (batch.status().code() != absl::StatusCode::kDeadlineExceeded) {
        throw StatusError(batch.status());
      }
      if (PyErr_CheckSignals() != 0) throw py::error_already_set();
    }
  }

  // Stops the streams (once a next() in progress ends its slice); batches
  // already handed out stay valid.
  void Close() {
    py::gil_scoped_release release;
    std::shared_ptr<Client> closing;
    {
      std::lock_guard<std::mutex> lock(mu_);
      closing = std::move(client_);
    }
    closing.reset();
  }

  bool closed() { return Get() == nullptr; }

  // The client, or FAILED_PRECONDITION once closed.
  std::shared_ptr<Client> Open() {
    std::shared_ptr<Client> client = Get();
    if (client == nullptr) {
      throw StatusError(absl::FailedPreconditionError("the client is closed"));
    }
    return client;
  }

 private:
  std::shared_ptr<Client> Get() {
    std::lock_guard<std::mutex> lock(mu_);
    return client_;
  }

  std::mutex next_mu_;  // Next() runs on one thread at a time.
  std::mutex mu_;       // Guards client_.
  std::shared_ptr<Client> client_;
};

py::dict InfoDict(const DatasetInfo& info) {
  py::list tensors;
  for (const TensorSpec& t : info.tensors) {
    tensors.append(py::dict(py::arg("name") = t.name,
                            py::arg("dtype") = NumpyDtype(t.dtype),
                            py::arg("shape") = py::tuple(py::cast(t.shape))));
  }
  py::list shards;
  for (const ShardInfo& s : info.shards) {
    shards.append(py::dict(py::arg("target") = s.target,
                           py::arg("dataset") = s.dataset,
                           py::arg("shard_index") = s.shard_index,
                           py::arg("num_shards") = s.num_shards,
                           py::arg("examples_per_epoch") =
                               s.examples_per_epoch));
  }
  return py::dict(
      py::arg("dataset") = info.dataset, py::arg("batch_size") = info.batch_size,
      py::arg("examples_per_epoch") = info.examples_per_epoch,
      py::arg("batch_payload_bytes") = info.batch_payload_bytes,
      py::arg("num_classes") = info.num_classes,
      py::arg("class_names") = info.class_names,
      py::arg("tensors") = tensors, py::arg("shards") = shards);
}

py::dict StatsDict(const ClientStats& s) {
  return py::dict(
      py::arg("batches") = s.batches,
      py::arg("batches_received") = s.batches_received,
      py::arg("bytes_received") = s.bytes_received,
      py::arg("cache_hits") = s.cache_hits,
      py::arg("synthetic_uploads") = s.synthetic_uploads,
      py::arg("reconnects") = s.reconnects,
      py::arg("stream_errors") = s.stream_errors,
      py::arg("wait_seconds") = s.wait_seconds,
      py::arg("time_to_first_batch_seconds") = s.time_to_first_batch_seconds,
      py::arg("prefetch_depth") = s.prefetch_depth,
      py::arg("prefetch_ready") = s.prefetch_ready,
      py::arg("prefetch_occupancy") = s.prefetch_occupancy,
      py::arg("mode_generation") = s.mode_generation,
      py::arg("mode") = ModeName(s.mode), py::arg("pool_slots") = s.pool_slots,
      py::arg("h2d_bytes") = s.h2d_bytes);
}

py::object TensorArray(py::object self, const std::string& name, int device) {
  const PyBatch& batch = self.cast<const PyBatch&>();
  return ToNumpy(FindTensor(batch.handle(), name, device), self);
}

}  // namespace

PYBIND11_MODULE(_inputserve, m) {
  m.doc() = "C++ core of the inputserve Python client (use `inputserve`).";
  RegisterStatusErrors();

  py::class_<PyTensor>(m, "Tensor",
                       "One tensor of a batch, exported without a copy "
                       "through DLPack (host or CUDA memory).")
      .def_property_readonly("name",
                             [](const PyTensor& t) { return t.ref().name; })
      .def_property_readonly(
          "dtype", [](const PyTensor& t) { return NumpyDtype(t.ref().dtype); })
      .def_property_readonly(
          "shape",
          [](const PyTensor& t) { return py::tuple(py::cast(t.ref().shape)); })
      .def_property_readonly("device",
                             [](const PyTensor& t) { return t.ref().device; })
      .def_property_readonly("is_cuda",
                             [](const PyTensor& t) {
                               return t.ref().memory == MemoryKind::kCuda;
                             })
      .def_property_readonly(
          "data_ptr",
          [](const PyTensor& t) {
            return reinterpret_cast<uintptr_t>(t.ref().data);
          })
      .def(
          "__dlpack__",
          [](const PyTensor& t, py::object stream) {
            // The client hands out batches whose copies have completed, so
            // any consumer stream may read them at once.
            (void)stream;
            return ToDlpack(t.ref());
          },
          py::arg("stream") = py::none())
      .def("__dlpack_device__",
           [](const PyTensor& t) { return DlpackDevice(t.ref()); });

  py::class_<PyBatch>(m, "Batch", "A batch handle (see inputserve.Batch).")
      .def_property_readonly("step", [](const PyBatch& b) { return b.get().step; })
      .def_property_readonly("epoch",
                             [](const PyBatch& b) { return b.get().epoch; })
      .def_property_readonly("sequence",
                             [](const PyBatch& b) { return b.get().sequence; })
      .def_property_readonly(
          "mode", [](const PyBatch& b) { return ModeName(b.get().mode); })
      .def_property_readonly(
          "mode_generation",
          [](const PyBatch& b) { return b.get().mode_generation; })
      .def_property_readonly("source",
                             [](const PyBatch& b) { return b.get().source; })
      .def_property_readonly("from_cache",
                             [](const PyBatch& b) { return b.get().from_cache; })
      .def_property_readonly(
          "num_devices",
          [](const PyBatch& b) {
            return static_cast<int>(b.get().devices.size());
          })
      .def_property_readonly(
          "is_cuda",
          [](const PyBatch& b) {
            const Batch& batch = b.get();
            return !batch.devices.empty() &&
                   !batch.devices[0].tensors.empty() &&
                   batch.devices[0].tensors[0].memory == MemoryKind::kCuda;
          })
      .def("names",
           [](const PyBatch& b) {
             std::vector<std::string> names;
             for (const TensorView& t : b.get().devices.at(0).tensors) {
               names.push_back(t.name);
             }
             return names;
           })
      .def("array", &TensorArray, py::arg("name"), py::arg("device") = -1,
           "NumPy view of a tensor (device -1: the whole batch).")
      .def(
          "tensor",
          [](const PyBatch& b, const std::string& name, int device) {
            return PyTensor(FindTensor(b.handle(), name, device));
          },
          py::arg("name"), py::arg("device") = -1,
          "DLPack-capable view of a tensor (device -1: the whole batch).")
      .def("release", &PyBatch::Release);

  py::class_<PyClient>(m, "Client", "The C++ client (see inputserve.Client).")
      .def(py::init<const py::dict&>(), py::arg("options"))
      .def("next", &PyClient::Next)
      .def("close", &PyClient::Close)
      .def_property_readonly("closed", &PyClient::closed)
      .def("info", [](PyClient& c) { return InfoDict(c.Open()->info()); })
      .def("stats", [](PyClient& c) { return StatsDict(c.Open()->stats()); })
      .def_property_readonly(
          "num_devices", [](PyClient& c) { return c.Open()->num_devices(); })
      .def_property_readonly("memory", [](PyClient& c) {
        return c.Open()->memory_kind() == MemoryKind::kCuda ? "cuda" : "host";
      });
}

}  // namespace inputserve::python
