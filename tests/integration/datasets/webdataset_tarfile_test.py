#!/usr/bin/python3
"""WebDataset shards written by Python's tarfile, served exactly once.

Writes tar shards with Python's tarfile module (PAX format, so long keys
travel in pax headers; keys with directories; extra members such as .json
beside the image and the label; directory entries), each sample
<key>.jpg|.png + <key>.cls, where the label is the sample's unique id. Three
replicas (--num_shards=3) each get two concurrent consumer streams; the
labels of every replica's first epoch, gathered by batch sequence over both
consumers, must be every id exactly once. Run with 5 shard files (whole files
per replica) and with 2 (the replicas split records). Then hostile shards,
also from tarfile: a server keeps serving the good samples and counts the
bad ones by reason on /metrics; a shard without one complete sample stops
start-up with a message naming it.

Usage: webdataset_tarfile_test.py BIN_DIR PROTO_DIR PROTOC
Exit 0 pass, 1 fail, 77 skip (grpcio not importable).
"""

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import threading

try:
    import grpc  # noqa: F401
except ImportError:
    print("SKIP: python3-grpcio is not installed")
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inputserve_wire import Server, Wire  # noqa: E402

REPLICAS = 3
CONSUMERS = 2
BATCH = 7
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def add(tar, name, data):
    info = tarfile.TarInfo(name)
    info.size = len(data)
    tar.addfile(info, io.BytesIO(data))


def write_shards(images, out, num_files):
    """Sample k (label k) goes to file k * num_files // len(images)."""
    os.makedirs(out)
    tars = [tarfile.open(os.path.join(out, "part-%03d.tar" % f), "w")
            for f in range(num_files)]
    for f, tar in enumerate(tars):
        d = tarfile.TarInfo("dir%d" % f)
        d.type = tarfile.DIRTYPE
        tar.addfile(d)
    for k, path in enumerate(images):
        tar = tars[k * num_files // len(images)]
        ext = os.path.splitext(path)[1].lower().lstrip(".")
        if k % 5 == 0:  # Longer than ustar's 100 bytes: a pax header.
            key = "dir/" + "long_key_" * 14 + "%05d" % k
        else:
            key = "sample%05d" % k
        add(tar, key + "." + ext, open(path, "rb").read())
        add(tar, key + ".cls", str(k).encode())
        add(tar, key + ".json", json.dumps({"id": k}).encode())
    for tar in tars:
        tar.close()


def epoch0_labels(servers, wire):
    """Every replica's first-epoch labels, over CONSUMERS streams each."""
    sizes = [s.info(wire).examples_per_epoch for s in servers]
    lock = threading.Lock()
    got = [dict() for _ in servers]  # replica -> sequence -> labels
    errors = []

    def needed(r):
        return (sizes[r] + BATCH - 1) // BATCH

    def done(r):
        with lock:
            return all(q in got[r] for q in range(needed(r)))

    def consume(r, c):
        try:
            for seq, _, labels in servers[r].batches(
                    wire, "rank-%d" % c, lambda: done(r)):
                with lock:
                    if seq in got[r]:
                        errors.append("replica %d sent sequence %d twice"
                                      % (r, seq))
                    got[r][seq] = labels
        except Exception as e:  # noqa: BLE001
            errors.append("replica %d consumer %d: %s" % (r, c, e))

    threads = [threading.Thread(target=consume, args=(r, c))
               for r in range(len(servers)) for c in range(CONSUMERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    check(not errors, "no stream errors or duplicate batches %s" % errors)
    labels = []
    for r, by_seq in enumerate(got):
        position = 0
        for q in range(needed(r)):
            for label in by_seq.get(q, []):
                if position < sizes[r]:
                    labels.append(label)
                position += 1
    return sizes, labels


def hostile_checks(bin_dir, work, wire, images):
    """Bad samples are skipped and counted; an unusable shard is refused."""
    out = os.path.join(work, "hostile")
    os.makedirs(out)
    jpg = open(images[0], "rb").read()
    with tarfile.open(os.path.join(out, "bad.tar"), "w") as tar:
        add(tar, "good0.jpg", jpg)
        add(tar, "good0.cls", b"1")
        add(tar, "../escape.jpg", jpg)          # bad_name
        add(tar, "nolabel.jpg", jpg)            # missing_feature
        add(tar, "word.jpg", jpg)               # bad_label
        add(tar, "word.cls", b"three")
        add(tar, "corrupt.png", b"\x89PNG\r\n\x1a\n broken")  # decode error
        add(tar, "corrupt.cls", b"2")
        add(tar, "good1.jpg", jpg)
        add(tar, "good1.cls", b"0")
        add(tar, "cut.jpg", jpg)
        add(tar, "cut.cls", b"0")
    path = os.path.join(out, "bad.tar")
    with tarfile.open(path) as tar:
        cut_at = tar.getmember("cut.jpg").offset_data + 100
    with open(path, "r+b") as f:  # Cut inside cut.jpg: truncated.
        f.truncate(cut_at)
    server = Server(bin_dir, work, "hostile",
                    ["--dataset=webdataset:" + path, "--batch_size=2",
                     "--image_size=32", "--decode_threads=1",
                     "--prefetch_batches=1"])
    try:
        got = []
        for _, _, labels in server.batches(wire, "hostile",
                                           lambda: len(got) >= 8):
            got.extend(labels)
        check(sorted(set(got)) == [0, 1],
              "hostile shard: only the good samples are served (%s)" % got)
        skipped = 'inputserve_records_skipped_total{reason="%s"}'
        for reason in ("bad_name", "missing_feature", "bad_label",
                       "truncated", "decode_error"):
            check(server.metric(skipped % reason) >= 1,
                  "hostile shard: skipped %s counted" % reason)
        check(server.proc.poll() is None, "hostile shard: server still up")
    finally:
        server.close()

    junk = os.path.join(out, "junk.tar")
    with open(junk, "wb") as f:
        f.write(b"this is not a tar archive" * 50)
    r = subprocess.run([os.path.join(bin_dir, "inputserve-server"),
                        "--dataset=webdataset:" + junk, "--listen=127.0.0.1:0",
                        "--admin_listen=", "--metrics_listen="],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode != 0 and "junk.tar" in r.stderr
          and "no complete sample" in r.stderr,
          "a shard without a sample stops start-up, naming it (exit %d: %s)"
          % (r.returncode, r.stderr.strip().splitlines()[-1:]))


def main():
    bin_dir, proto_dir, protoc = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="inputserve_wds_")
    servers = []
    try:
        wire = Wire(proto_dir, protoc, work)
        gen = os.path.join(work, "gen")
        subprocess.run([os.path.join(bin_dir, "inputserve-datagen"),
                        "--format=imagefolder", "--out=" + gen,
                        "--num_examples=80", "--num_classes=1", "--seed=9",
                        "--min_size=24", "--max_size=64", "--png_fraction=0.3"],
                       check=True, stdout=subprocess.DEVNULL)
        images = sorted(os.path.join(gen, "class_0000", f)
                        for f in os.listdir(os.path.join(gen, "class_0000")))
        n = len(images)
        for num_files in (5, 2):
            out = os.path.join(work, "wds%d" % num_files)
            write_shards(images, out, num_files)
            servers = [Server(bin_dir, work, "r%d_%d" % (num_files, r),
                              ["--dataset=webdataset:" + out + "/*.tar",
                               "--batch_size=%d" % BATCH, "--image_size=32",
                               "--num_shards=%d" % REPLICAS,
                               "--shard_index=%d" % r,
                               "--shuffle_buffer=16", "--seed=4",
                               "--decode_threads=2", "--prefetch_batches=2"])
                       for r in range(REPLICAS)]
            sizes, labels = epoch0_labels(servers, wire)
            check(sum(sizes) == n, "%d files: shard sizes %s add up to %d"
                  % (num_files, sizes, n))
            check(sorted(labels) == list(range(n)),
                  "%d files: epoch 0 over %d replicas x %d consumers is every "
                  "sample exactly once (%d labels, %d distinct)"
                  % (num_files, REPLICAS, CONSUMERS, len(labels),
                     len(set(labels))))
            skipped = sum(s.metric("inputserve_records_skipped_total")
                          for s in servers)
            check(skipped == 0, "%d files: nothing skipped" % num_files)
            for s in servers:
                s.close()
            servers = []
        hostile_checks(bin_dir, work, wire, images)
    finally:
        for s in servers:
            s.close()
        shutil.rmtree(work, ignore_errors=True)
    if failures:
        print("%d check(s) failed" % len(failures))
        sys.exit(1)
    print("PASS")


if __name__ == "__main__":
    main()
