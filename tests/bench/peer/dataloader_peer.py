#!/usr/bin/python3
"""The PyTorch DataLoader peer of the end-to-end benchmark.

Reads the same TFRecord files of tf.train.Example JPEGs that inputserve-server
serves, and measures images/s delivered by a torch DataLoader doing the
standard torchvision ImageNet training preprocessing on them:
torchvision.io.decode_jpeg + RandomResizedCrop(size) + RandomHorizontalFlip,
batch_size batches, num_workers worker processes.

The records are parsed once, before timing, into memory (the server reads
them from the page cache, so neither side pays for disk). The JPEG bytes the
workers decode are byte-for-byte the ones the server decodes.

Prints one line `PEER images_per_sec=<x> cpu_ms_per_image=<c> batches=<n>
...`: images/s over the timed batches, and CPU milliseconds (main process and
workers, user + system) per image over all batches. Exit status 77 when torch or torchvision is
not installed (the caller skips the peer), 1 on bad input.

Run with Debian's interpreter: /usr/bin/python3 dataloader_peer.py FILE...
"""

import argparse
import glob
import resource
import struct
import sys
import time


def read_varint(buf, pos):
    """Returns (value, new_pos) of the base-128 varint at buf[pos:]."""
    result = 0
    shift = 0
    while True:
        if pos >= len(buf):
            raise ValueError("truncated varint")
        b = buf[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def fields(buf):
    """Yields (field_number, wire_type, value) of a protobuf message.

    Length-delimited values come back as memoryview slices, varints as int.
    """
    pos = 0
    view = memoryview(buf)
    while pos < len(buf):
        key, pos = read_varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = read_varint(buf, pos)
        elif wire == 1:
            value, pos = view[pos:pos + 8], pos + 8
        elif wire == 2:
            length, pos = read_varint(buf, pos)
            value, pos = view[pos:pos + length], pos + length
        elif wire == 5:
            value, pos = view[pos:pos + 4], pos + 4
        else:
            raise ValueError("unsupported wire type %d" % wire)
        if pos > len(buf):
            raise ValueError("field runs past the end of the message")
        yield number, wire, value


def parse_example(record):
    """Returns (jpeg_bytes, label) of a serialized tf.train.Example."""
    image = None
    label = None
    for num, _, features in fields(record):  # Example.features = 1
        if num != 1:
            continue
        for fnum, _, entry in fields(bytes(features)):  # Features.feature = 1
            if fnum != 1:
                continue
            key = None
            feature = None
            for enum, _, value in fields(bytes(entry)):  # map entry
                if enum == 1:
                    key = bytes(value).decode()
                elif enum == 2:
                    feature = bytes(value)
            if feature is None:
                continue
            for kind, wire, lst in fields(feature):
                if key == "image/encoded" and kind == 1:  # bytes_list
                    for vnum, _, v in fields(bytes(lst)):
                        if vnum == 1 and image is None:
                            image = bytes(v)
                elif key == "image/class/label" and kind == 3:  # int64_list
                    for vnum, vwire, v in fields(bytes(lst)):
                        if vnum != 1 or label is not None:
                            continue
                        if vwire == 2:  # packed
                            label, _ = read_varint(bytes(v), 0)
                        else:
                            label = v
    if image is None or label is None:
        raise ValueError("record lacks image/encoded or image/class/label")
    return image, label


def read_tfrecords(path):
    """Yields the data of each record (framing CRCs are not rechecked)."""
    with open(path, "rb") as f:
        data = f.read()
    pos = 0
    while pos + 12 <= len(data):
        (length,) = struct.unpack_from("<Q", data, pos)
        start = pos + 12
        end = start + length
        if end + 4 > len(data):
            raise ValueError("%s: truncated record at offset %d" % (path, pos))
        yield data[start:end]
        pos = end + 4


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("files", nargs="+", help="TFRecord files or globs")
    parser.add_argument("--batch_size", type=int, default=256)
    parser.add_argument("--num_workers", type=int, default=2)
    parser.add_argument("--image_size", type=int, default=224)
    parser.add_argument("--warmup", type=int, default=2,
                        help="batches before the clock starts")
    parser.add_argument("--batches", type=int, default=10,
                        help="batches timed")
    args = parser.parse_args()

    try:
        import torch
        import torchvision
        from torchvision import transforms
        from torchvision.io import ImageReadMode, decode_jpeg
    except ImportError as e:
        print("PEER skipped: %s" % e)
        return 77

    paths = []
    for pattern in args.files:
        paths.extend(sorted(glob.glob(pattern)) or [pattern])
    examples = []
    for path in paths:
        for record in read_tfrecords(path):
            examples.append(parse_example(record))
    if not examples:
        print("no records in %s" % paths, file=sys.stderr)
        return 1

    augment = transforms.Compose([
        transforms.RandomResizedCrop(args.image_size),
        transforms.RandomHorizontalFlip(),
    ])

    class JpegDataset(torch.utils.data.Dataset):
        def __init__(self, items, length):
            self.items = items
            self.length = length

        def __len__(self):
            return self.length

        def __getitem__(self, i):
            jpeg, label = self.items[i % len(self.items)]
            data = torch.frombuffer(bytearray(jpeg), dtype=torch.uint8)
            image = decode_jpeg(data, mode=ImageReadMode.RGB)
            return augment(image), label

    total = args.warmup + args.batches
    loader = torch.utils.data.DataLoader(
        JpegDataset(examples, total * args.batch_size),
        batch_size=args.batch_size, shuffle=False,
        num_workers=args.num_workers, drop_last=True)
    start = None
    count = 0
    main_cpu0 = time.process_time()
    iterator = iter(loader)
    for i, (images, labels) in enumerate(iterator):
        if images.shape != (args.batch_size, 3, args.image_size,
                            args.image_size) or labels.shape[0] != \
                args.batch_size:
            print("unexpected batch shape %s" % (tuple(images.shape),),
                  file=sys.stderr)
            return 1
        if i + 1 == args.warmup:
            start = time.monotonic()
        elif i + 1 > args.warmup:
            count += images.shape[0]
    if args.warmup == 0 or start is None:
        print("need --warmup >= 1 and at least one timed batch",
              file=sys.stderr)
        return 1
    seconds = time.monotonic() - start
    # CPU per image over every batch (warm-up included): the workers' time
    # is counted once they have exited and been reaped.
    main_cpu = time.process_time() - main_cpu0
    del iterator
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_ms = (main_cpu + children.ru_utime + children.ru_stime) / (
        total * args.batch_size) * 1e3
    print("PEER images_per_sec=%.1f cpu_ms_per_image=%.2f batches=%d "
          "batch_size=%d num_workers=%d seconds=%.2f records=%d torch=%s "
          "torchvision=%s" % (
              count / seconds, cpu_ms, args.batches, args.batch_size,
              args.num_workers, seconds, len(examples), torch.__version__,
              torchvision.__version__))
    return 0


if __name__ == "__main__":
    sys.exit(main())
