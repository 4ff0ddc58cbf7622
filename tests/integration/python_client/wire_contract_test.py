#!/usr/bin/python3
"""The wire contract (docs/contract.md), checked with Python grpcio instead of our client.

Generates Python message classes from proto/ with protoc, writes a small
imagenet: TFRecord dataset with inputserve-datagen, starts inputserve-server
on 127.0.0.1 (ports from --port_file) and checks over plain grpcio calls:
GetDatasetInfo; StreamBatches framing (header on the first chunk only, chunks
within --chunk_bytes, `last` closing each batch, payload_bytes, NHWC image +
int32 label tensors, sequences, epochs); INVALID_ARGUMENT for bad request
bytes and an unspecified mode; UNAUTHENTICATED without or with a wrong token;
SetMode bumping the generation by one and WatchMode pushing it; synthetic
batches identical; RESOURCE_EXHAUSTED past --max_streams; grpc.health.v1;
the metrics of docs/contract.md on /metrics; SIGTERM ending streams with UNAVAILABLE
and exit 0 within 10 s.

Usage: wire_contract_test.py BIN_DIR PROTO_DIR PROTOC
Exit 0 pass, 1 fail, 77 skip (grpcio not importable).
"""

import json
import os
import signal
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import grpc
except ImportError:
    print("SKIP: python3-grpcio is not installed")
    sys.exit(77)

TOKEN = "py-token-123"
BATCH = 12
SIZE = 64
CHUNK = 10000
MAX_STREAMS = 3
CLASSES = 10

failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def main():
    bin_dir, proto_dir, protoc = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="inputserve_pyclient_")
    server = None
    try:
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
        global c, i, a
        from inputserve.v1 import common_pb2 as c
        from inputserve.v1 import input_service_pb2 as i
        from inputserve.v1 import admin_service_pb2 as a

        subprocess.run([os.path.join(bin_dir, "inputserve-datagen"),
                        "--format=tfrecord", "--out=" + work + "/tf",
                        "--num_examples=100", "--num_files=3", "--seed=77",
                        "--min_size=200", "--max_size=500",
                        "--num_classes=%d" % CLASSES],
                       check=True, stdout=subprocess.DEVNULL)
        with open(work + "/token", "w") as f:
            f.write("  %s  \nsecond line ignored\n" % TOKEN)
        ports_file = work + "/ports.json"
        log = open(work + "/server.log", "w")
        server = subprocess.Popen(
            [os.path.join(bin_dir, "inputserve-server"),
             "--dataset=imagenet:" + work + "/tf/*",
             "--listen=127.0.0.1:0", "--admin_listen=127.0.0.1:0",
             "--metrics_listen=127.0.0.1:0",
             "--admin_token_file=" + work + "/token",
             "--batch_size=%d" % BATCH, "--image_size=%d" % SIZE,
             "--chunk_bytes=%d" % CHUNK, "--max_streams=%d" % MAX_STREAMS,
             "--decode_threads=2", "--port_file=" + ports_file],
            stdout=log, stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while not (os.path.exists(ports_file) and os.path.getsize(ports_file)):
            if server.poll() is not None or time.time() > deadline:
                print(open(work + "/server.log").read())
                check(False, "server started")
                return
            time.sleep(0.05)
        with open(ports_file) as f:
            ports = json.load(f)
        run_checks(server, ports)
    finally:
        if server is not None and server.poll() is None:
            server.kill()
            server.wait()
        subprocess.run(["rm", "-rf", work])


def run_checks(server, ports):
    data = grpc.insecure_channel(
        "127.0.0.1:%d" % ports["data"],
        options=[("grpc.max_receive_message_length", -1)])
    admin = grpc.insecure_channel("127.0.0.1:%d" % ports["admin"])
    grpc.channel_ready_future(data).result(timeout=10)
    grpc.channel_ready_future(admin).result(timeout=10)
    auth = [("authorization", "Bearer " + TOKEN)]

    def unary(channel, method, req, resp):
        return channel.unary_unary(method,
                                   request_serializer=req.SerializeToString,
                                   response_deserializer=resp.FromString)

    def streaming(channel, method, req, resp):
        return channel.unary_stream(method,
                                    request_serializer=req.SerializeToString,
                                    response_deserializer=resp.FromString)

    svc = "/inputserve.v1.InputService/"
    adm = "/inputserve.v1.AdminService/"
    get_info = unary(data, svc + "GetDatasetInfo", i.GetDatasetInfoRequest,
                     i.DatasetInfo)
    stream = streaming(data, svc + "StreamBatches", i.StreamBatchesRequest,
                       c.BatchChunk)
    watch_mode = streaming(data, svc + "WatchMode", i.WatchModeRequest,
                           c.ModeStatus)
    set_mode = unary(admin, adm + "SetMode", a.SetModeRequest, c.ModeStatus)
    get_status = unary(admin, adm + "GetStatus", a.GetStatusRequest,
                       a.ServerStatus)

    def batches(call, n):
        """Reassembles n batches from a StreamBatches call."""
        out, payload, header = [], b"", None
        for chunk in call:
            if header is None:
                if not chunk.HasField("header"):
                    check(False, "the first chunk of a batch has the header")
                header = chunk.header
            elif chunk.HasField("header"):
                check(False, "only the first chunk of a batch has a header")
            if len(chunk.data) > CHUNK:
                check(False, "chunk of %d bytes within --chunk_bytes=%d"
                      % (len(chunk.data), CHUNK))
            payload += chunk.data
            if chunk.last:
                out.append((header, payload))
                payload, header = b"", None
                if len(out) == n:
                    break
        return out

    def code_of(fn):
        try:
            fn()
            return grpc.StatusCode.OK, ""
        except grpc.RpcError as e:
            return e.code(), e.details()

    def wait_idle():
        """Cancelled streams take a few ms to leave the server's count."""
        deadline = time.time() + 10
        while time.time() < deadline:
            if get_status(a.GetStatusRequest(), metadata=auth,
                          timeout=5).active_streams == 0:
                return
            time.sleep(0.01)

    info = get_info(i.GetDatasetInfoRequest(), timeout=10)
    check(info.batch_size == BATCH, "GetDatasetInfo batch_size %d"
          % info.batch_size)

    # Real mode: framing, tensors, sequences, epochs.
    call = stream(i.StreamBatchesRequest(consumer_id="py-real"), timeout=60)
    got = batches(call, 12)
    call.cancel()
    check(len(got) == 12, "12 whole batches received")
    seqs = [h.sequence for h, _ in got]
    check(seqs == list(range(seqs[0], seqs[0] + 12)),
          "consecutive sequences %s" % seqs)
    tensors = [(t.name, t.dtype, list(t.shape)) for t in got[0][0].tensors]
    check(tensors == [("image", c.DTYPE_UINT8, [BATCH, SIZE, SIZE, 3]),
                      ("label", c.DTYPE_INT32, [BATCH])],
          "tensors %s" % tensors)
    size = BATCH * SIZE * SIZE * 3 + 4 * BATCH
    check(all(h.payload_bytes == len(p) == size for h, p in got),
          "payload_bytes matches the %d bytes received per batch" % size)
    labels = [x for _, p in got for x in struct.unpack("<%di" % BATCH,
                                                      p[-4 * BATCH:])]
    check(all(0 <= x < CLASSES for x in labels),
          "labels in [0, %d): %s" % (CLASSES, sorted(set(labels))))
    epochs = [h.epoch for h, _ in got]
    # 100 examples, batches of 12: the ninth batch starts epoch 1.
    check(epochs == sorted(epochs) and epochs[0] == 0 and epochs[-1] == 1,
          "epochs %s" % epochs)
    check(all(h.mode == c.MODE_REAL for h, _ in got), "batches in MODE_REAL")

    # Bad requests.
    raw = data.unary_stream(svc + "StreamBatches")
    code, details = code_of(lambda: list(raw(b"\xff\xff\xff", timeout=5)))
    check(code == grpc.StatusCode.INVALID_ARGUMENT,
          "unparseable StreamBatchesRequest -> %s (%s)" % (code, details))
    code, details = code_of(lambda: set_mode(
        a.SetModeRequest(mode=c.MODE_UNSPECIFIED), metadata=auth, timeout=5))
    check(code == grpc.StatusCode.INVALID_ARGUMENT and "mode" in details,
          "SetMode(MODE_UNSPECIFIED) -> %s (%s)" % (code, details))

    # Admin authentication.
    for name, md in (("no token", []),
                     ("wrong token", [("authorization", "Bearer nope")]),
                     ("token without Bearer", [("authorization", TOKEN)])):
        code, _ = code_of(lambda: set_mode(
            a.SetModeRequest(mode=c.MODE_SYNTHETIC), metadata=md, timeout=5))
        check(code == grpc.StatusCode.UNAUTHENTICATED,
              "SetMode with %s -> %s" % (name, code))

    # Mode flip: generation + 1, pushed on WatchMode.
    watch = watch_mode(i.WatchModeRequest(), timeout=30)
    first = next(watch)
    flipped = set_mode(a.SetModeRequest(mode=c.MODE_SYNTHETIC),
                       metadata=auth, timeout=5)
    check(flipped.mode == c.MODE_SYNTHETIC
          and flipped.generation == first.generation + 1,
          "SetMode: generation %d -> %d" % (first.generation,
                                            flipped.generation))
    pushed = next(watch)
    check(pushed.mode == c.MODE_SYNTHETIC
          and pushed.generation == flipped.generation,
          "WatchMode pushed generation %d" % pushed.generation)
    watch.cancel()

    call = stream(i.StreamBatchesRequest(consumer_id="py-synthetic"),
                  timeout=60)
    synthetic = batches(call, 5)
    call.cancel()
    check(all(h.mode == c.MODE_SYNTHETIC
              and h.mode_generation == flipped.generation
              for h, _ in synthetic),
          "synthetic batches carry MODE_SYNTHETIC and the new generation")
    check(len({p for _, p in synthetic}) == 1,
          "every synthetic batch has the same bytes")

    # --max_streams.
    wait_idle()
    calls = [stream(i.StreamBatchesRequest(consumer_id="cap-%d" % k),
                    timeout=30) for k in range(MAX_STREAMS + 1)]
    codes = [code_of(lambda cl=cl: next(cl))[0] for cl in calls]
    for cl in calls:
        cl.cancel()
    check(sorted(x.name for x in codes)
          == ["OK"] * MAX_STREAMS + ["RESOURCE_EXHAUSTED"],
          "%d streams at --max_streams=%d -> %s"
          % (MAX_STREAMS + 1, MAX_STREAMS, [x.name for x in codes]))

    # grpc.health.v1: empty HealthCheckRequest -> status SERVING (1).
    health = data.unary_unary("/grpc.health.v1.Health/Check")(b"", timeout=5)
    check(health == b"\x08\x01", "health check SERVING (%r)" % health)

    metrics = urllib.request.urlopen(
        "http://127.0.0.1:%d/metrics" % ports["metrics"],
        timeout=5).read().decode()
    for name in ("inputserve_batches_sent_total{", "inputserve_bytes_sent_total{",
                 "inputserve_active_streams ", "inputserve_mode ",
                 "inputserve_mode_changes_total", "inputserve_examples_decoded_total",
                 "inputserve_decode_errors_total", "inputserve_records_skipped_total",
                 "inputserve_batch_build_seconds_bucket",
                 "inputserve_prefetch_queue_depth", "inputserve_admin_requests_total{"):
        check(name in metrics, "/metrics has " + name.strip())
    check("\ninputserve_mode 1" in metrics, "inputserve_mode 1 in synthetic")

    # SIGTERM while a stream is open.
    set_mode(a.SetModeRequest(mode=c.MODE_REAL), metadata=auth, timeout=5)
    call = stream(i.StreamBatchesRequest(consumer_id="py-term"), timeout=60)
    next(call)
    start = time.time()
    server.send_signal(signal.SIGTERM)
    code = grpc.StatusCode.OK
    try:
        for _ in call:
            pass
    except grpc.RpcError as e:
        code = e.code()
    exit_code = server.wait(timeout=15)
    took = time.time() - start
    check(code == grpc.StatusCode.UNAVAILABLE,
          "open stream ends with UNAVAILABLE on SIGTERM (%s)" % code)
    check(exit_code == 0 and took < 10,
          "SIGTERM: exit %d after %.2f s" % (exit_code, took))


if __name__ == "__main__":
    main()
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("all checks passed")
