#!/usr/bin/python3
"""torchvision's ImageFolder and inputserve agree on every label.

Builds an ImageFolder tree of generated JPEGs and PNGs
(inputserve-datagen --format=imagefolder) plus real photos from Debian's
sklearn/skimage packages (JPEG, grayscale PNG, palette PNG, RGBA PNG; some
with upper-case extensions, in a nested directory, through a symlinked class
directory and a symlinked file), with files that are not images beside them.
Opens it with torchvision.datasets.ImageFolder (which also loads every image
through PIL) and serves it with inputserve-server
--dataset=imagefolder:<root> --shuffle_buffer=0 (sorted order). Checks that
the labels served over the wire, in order, are torchvision's targets, that
GetDatasetInfo's class_names and num_classes are torchvision's classes, and
that shard 1 of 2 serves exactly targets[1::2], and that a server started in
synthetic mode serves the first batch, cached. Finally a tree with a broken
symlink and skimage's truncated.jpg: the server serves the good image and
counts the others as unreadable and as decode errors on /metrics.

Usage: imagefolder_torchvision_test.py BIN_DIR PROTO_DIR PROTOC
Exit 0 pass, 1 fail, 77 skip (grpcio or torchvision not importable).
"""

import os
import shutil
import subprocess
import sys
import tempfile

try:
    import grpc  # noqa: F401
    import torchvision
except ImportError as e:
    print("SKIP: %s (needs python3-grpcio and python3-torchvision)" % e)
    sys.exit(77)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from inputserve_wire import Server, Wire, first_labels  # noqa: E402

SKLEARN = "/usr/lib/python3/dist-packages/sklearn/datasets/images/"
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"
failures = []


def check(ok, what):
    print(("ok    " if ok else "FAIL  ") + what, flush=True)
    if not ok:
        failures.append(what)


def add_real_photos(root):
    """Real photos into the generated classes, in the awkward places."""
    photos = [
        (SKLEARN + "china.jpg", "class_0001/nested/deeper/china.JPG"),
        (SKLEARN + "flower.jpg", "class_0000/flower.jpeg"),
        (SKIMAGE + "rocket.jpg", "class_0002/Rocket.Jpg"),
        (SKIMAGE + "camera.png", "class_0003/camera_gray.PNG"),
        (SKIMAGE + "green_palette.png", "class_0003/nested/palette.png"),
        (SKIMAGE + "horse.png", "class_0004/horse_rgba.png"),
        (SKIMAGE + "astronaut.png", "class_0005/astronaut.png"),
    ]
    added = 0
    for src, rel in photos:
        if not os.path.exists(src):
            continue
        dst = os.path.join(root, rel)
        os.makedirs(os.path.dirname(dst), exist_ok=True)
        shutil.copyfile(src, dst)
        added += 1
    # Not images: ignored by both.
    with open(os.path.join(root, "class_0001", "README.txt"), "w") as f:
        f.write("not an image")
    with open(os.path.join(root, "class_0002", "labels.csv"), "w") as f:
        f.write("x,y")
    # A symlinked class directory and a symlinked image.
    os.symlink(os.path.join(root, "class_0004"),
               os.path.join(root, "class_linked"))
    os.symlink(os.path.join(root, "class_0000", sorted(
        os.listdir(os.path.join(root, "class_0000")))[0]),
        os.path.join(root, "class_0005", "via_link.jpg"))
    return added


def broken_tree_checks(bin_dir, work, wire, servers):
    root = os.path.join(work, "broken")
    os.makedirs(os.path.join(root, "a"))
    os.makedirs(os.path.join(root, "b"))
    shutil.copyfile(SKLEARN + "china.jpg", os.path.join(root, "b", "ok.jpg"))
    os.symlink(os.path.join(root, "gone.jpg"),
               os.path.join(root, "a", "broken.jpg"))
    truncated = SKIMAGE + "truncated.jpg"
    if os.path.exists(truncated):
        shutil.copyfile(truncated, os.path.join(root, "a", "truncated.jpg"))
    else:
        with open(os.path.join(root, "a", "truncated.jpg"), "wb") as f:
            f.write(open(SKLEARN + "china.jpg", "rb").read()[:5000])
    server = Server(bin_dir, work, "broken",
                    ["--dataset=imagefolder:" + root, "--batch_size=2",
                     "--image_size=32", "--decode_threads=1",
                     "--prefetch_batches=1"])
    servers.append(server)
    got = first_labels(server, wire, 6)
    check(got == [1] * 6, "broken tree: only the good image (label 1) is "
          "served (%s)" % got)
    skipped = 'inputserve_records_skipped_total{reason="%s"}'
    check(server.metric(skipped % "unreadable") >= 1,
          "broken tree: the broken symlink counts as unreadable")
    check(server.metric("inputserve_decode_errors_total") >= 1,
          "broken tree: truncated.jpg counts as a decode error")


def main():
    bin_dir, proto_dir, protoc = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="inputserve_imagefolder_")
    servers = []
    try:
        wire = Wire(proto_dir, protoc, work)
        root = os.path.join(work, "tree")
        subprocess.run([os.path.join(bin_dir, "inputserve-datagen"),
                        "--format=imagefolder", "--out=" + root,
                        "--num_examples=90", "--num_classes=6", "--seed=3",
                        "--min_size=40", "--max_size=120",
                        "--png_fraction=0.3", "--grayscale_fraction=0.2"],
                       check=True, stdout=subprocess.DEVNULL)
        photos = add_real_photos(root)
        print("tree: 90 generated images + %d real photos" % photos)

        tv = torchvision.datasets.ImageFolder(root)
        for k in range(len(tv)):
            tv[k]  # PIL opens every image: the tree is valid for torchvision.
        targets = list(tv.targets)
        print("torchvision: %d images, classes %s" % (len(targets),
                                                      tv.classes))

        common = ["--dataset=imagefolder:" + root, "--batch_size=16",
                  "--image_size=48", "--augment=false", "--shuffle_buffer=0",
                  "--decode_threads=2", "--prefetch_batches=2"]
        whole = Server(bin_dir, work, "whole", common)
        servers.append(whole)
        info = whole.info(wire)
        check(list(info.class_names) == tv.classes,
              "class_names %s == torchvision classes" % list(info.class_names))
        check(info.num_classes == len(tv.classes),
              "num_classes %d" % info.num_classes)
        check(info.examples_per_epoch == len(targets),
              "examples_per_epoch %d == %d images"
              % (info.examples_per_epoch, len(targets)))
        served, first_payload = [], None
        for header, payload, labels in whole.batches(
                wire, "first", lambda: len(served) >= len(targets),
                with_header=True):
            if first_payload is None:
                first_payload = payload
            served.extend(labels)
        served = served[:len(targets)]
        mismatches = [k for k in range(len(targets))
                      if served[k] != targets[k]]
        check(not mismatches,
              "all %d labels in order equal torchvision's targets "
              "(mismatches at %s)" % (len(targets), mismatches[:10]))
        check(whole.metric("inputserve_decode_errors_total") == 0,
              "no decode errors")

        half = Server(bin_dir, work, "shard1",
                      common + ["--num_shards=2", "--shard_index=1"])
        servers.append(half)
        want = targets[1::2]
        got = first_labels(half, wire, len(want))
        check(got == want, "shard 1 of 2 serves targets[1::2] (%d labels)"
              % len(want))

        synthetic = Server(bin_dir, work, "synthetic",
                           common + ["--mode=synthetic"])
        servers.append(synthetic)
        seen = []
        for header, payload, labels in synthetic.batches(
                wire, "synthetic", lambda: len(seen) >= 3, with_header=True):
            seen.append((header.mode, payload, labels))
        check(all(m == wire.c.MODE_SYNTHETIC for m, _, _ in seen),
              "synthetic mode: batches in MODE_SYNTHETIC")
        check(len({p for _, p, _ in seen}) == 1,
              "synthetic mode: the same cached batch every time")
        check(seen[0][1] == first_payload,
              "synthetic mode: the cached batch is, byte for byte, the first "
              "batch a real-mode server with the same flags sends")

        broken_tree_checks(bin_dir, work, wire, servers)
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
