"""Starts inputserve-server processes and reads batches with plain grpcio.

Shared by the dataset integration tests: message classes are generated from
proto/ with protoc at test time; servers bind 127.0.0.1 port 0 and report
their ports through --port_file; every server is killed on exit.
"""

import json
import os
import struct
import subprocess
import sys
import time

import grpc


class Wire:
    """Generated messages plus the InputService calls the tests need."""

    def __init__(self, proto_dir, protoc, work):
        subprocess.run([protoc, "-I", proto_dir, "--python_out", work]
                       + [os.path.join("inputserve/v1", f) for f in
                          ("common.proto", "input_service.proto",
                           "admin_service.proto")],
                       check=True, cwd=proto_dir)
        # Regular packages, so an installed `inputserve` (the client) later on
        # sys.path cannot take the name: a namespace directory would lose.
        for package in ("inputserve", "inputserve/v1"):
            open(os.path.join(work, package, "__init__.py"), "a").close()
        sys.path.insert(0, work)
        from inputserve.v1 import common_pb2
        from inputserve.v1 import input_service_pb2
        self.c = common_pb2
        self.i = input_service_pb2


class Server:
    """One inputserve-server on 127.0.0.1 with ports from --port_file."""

    def __init__(self, bin_dir, work, name, args):
        self.log_path = os.path.join(work, name + ".log")
        ports_file = os.path.join(work, name + ".ports")
        self.proc = subprocess.Popen(
            [os.path.join(bin_dir, "inputserve-server"),
             "--listen=127.0.0.1:0", "--admin_listen=",
             "--metrics_listen=127.0.0.1:0", "--port_file=" + ports_file]
            + args,
            stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT)
        deadline = time.time() + 90
        while not (os.path.exists(ports_file) and os.path.getsize(ports_file)):
            if self.proc.poll() is not None or time.time() > deadline:
                raise RuntimeError("server %s did not start:\n%s"
                                   % (name, open(self.log_path).read()))
            time.sleep(0.05)
        with open(ports_file) as f:
            self.ports = json.load(f)
        self.channel = grpc.insecure_channel(
            "127.0.0.1:%d" % self.ports["data"],
            options=[("grpc.max_receive_message_length", -1)])
        grpc.channel_ready_future(self.channel).result(timeout=30)

    def info(self, wire):
        call = self.channel.unary_unary(
            "/inputserve.v1.InputService/GetDatasetInfo",
            request_serializer=wire.i.GetDatasetInfoRequest.SerializeToString,
            response_deserializer=wire.i.DatasetInfo.FromString)
        return call(wire.i.GetDatasetInfoRequest(), timeout=30)

    def batches(self, wire, consumer, stop, with_header=False):
        """Yields (sequence, epoch, labels) per batch until stop() is true;
        with_header, (header, payload bytes, labels) instead."""
        call = self.channel.unary_stream(
            "/inputserve.v1.InputService/StreamBatches",
            request_serializer=wire.i.StreamBatchesRequest.SerializeToString,
            response_deserializer=wire.c.BatchChunk.FromString)
        stream = call(wire.i.StreamBatchesRequest(consumer_id=consumer),
                      timeout=120)
        header, payload = None, []
        try:
            for chunk in stream:
                if chunk.HasField("header"):
                    header, payload = chunk.header, []
                payload.append(chunk.data)
                if not chunk.last:
                    continue
                data = b"".join(payload)
                n = header.tensors[1].shape[0]
                labels = list(struct.unpack("<%di" % n, data[-4 * n:]))
                if with_header:
                    yield header, data, labels
                else:
                    yield header.sequence, header.epoch, labels
                if stop():
                    return
        finally:
            stream.cancel()

    def metric(self, name):
        """Sum of a metric's samples on /metrics (labels included)."""
        import urllib.request
        text = urllib.request.urlopen(
            "http://127.0.0.1:%d/metrics" % self.ports["metrics"],
            timeout=10).read().decode()
        total = 0.0
        for line in text.splitlines():
            if line.startswith(name) and not line.startswith("#"):
                total += float(line.rsplit(" ", 1)[1])
        return total

    def close(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def first_labels(server, wire, count):
    """The first `count` labels one stream receives, in order."""
    got = []
    for _, _, labels in server.batches(wire, "first",
                                       lambda: len(got) >= count):
        got.extend(labels)
    return got[:count]
