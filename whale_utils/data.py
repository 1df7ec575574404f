"""Read a data set in the Kaggle layout (``train.csv`` + ``train/``) and split it.

The loader never knows whether it reads the real photos or the synthetic stand-in.
Images are decoded with ``tf.data`` into uint8 arrays (never float64): the model
rescales. Decoded arrays are cached on disk, keyed by data set, rows and image size.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder

NEW_WHALE = "new_whale"
SYNTHETIC_MARKER = ".whale_synthetic.json"  # written by whale_utils.synthetic
COLUMNS = ("Image", "Id")
SPLITS = ("seed", "known")
DECODER_VERSION = "dct-scaled-area-v2"  # part of the cache key: change it when decoding changes
DEFAULT_CACHE = Path(os.environ.get("WHALE_CACHE", Path.home() / ".cache" / "whale-notebooks"))


# --------------------------------------------------------------------------- labels
def read_labels(data_dir: str | Path, n_rows: int | None = None) -> pd.DataFrame:
    """The first ``n_rows`` rows of ``DATA_DIR/train.csv`` (all when None), checked."""
    csv = Path(data_dir) / "train.csv"
    if not csv.is_file():
        raise FileNotFoundError(
            f"{csv} not found. For the synthetic data run `make data`; for the real data "
            "put the Kaggle competition's train.csv and train/ in that folder (see data/README.md)")
    frame = pd.read_csv(csv, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv}: column(s) {', '.join(missing)} missing; the header must be "
                         f"'Image,Id' (found {','.join(frame.columns)})")
    for column in COLUMNS:
        empty = np.flatnonzero(frame[column].str.strip() == "")
        if len(empty):
            raise ValueError(f"{csv}, row {empty[0] + 2}: empty '{column}'; every row needs "
                             "an image file name and an Id (or new_whale)")
    if n_rows is not None:
        if n_rows < 2:
            raise ValueError(f"N_ROWS must be at least 2, got {n_rows}")
        frame = frame.iloc[:n_rows]
    return frame[list(COLUMNS)].reset_index(drop=True)


def encode_labels(ids) -> tuple[np.ndarray, LabelEncoder]:
    """Sparse integer labels (no one-hot), as the student encoded them."""
    encoder = LabelEncoder().fit(ids)
    return encoder.transform(ids).astype(np.int32), encoder


# --------------------------------------------------------------------------- images
def image_paths(data_dir: str | Path, names) -> list[str]:
    """Paths of ``train/<name>``; names the first missing file and its CSV row."""
    folder = Path(data_dir) / "train"
    paths = [str(folder / name) for name in names]
    for row, path in enumerate(paths):
        if not os.path.isfile(path):
            raise FileNotFoundError(
                f"{path} (train.csv row {row + 2}) does not exist; train.csv and train/ "
                "must come from the same data set")
    return paths


def decode_dataset(paths, img_size: int):
    """A ``tf.data`` pipeline of uint8 ``img_size`` squares, decoded in parallel.

    JPEGs much larger than the target are decoded at 1/2, 1/4 or 1/8 scale by the JPEG
    decoder itself (DCT scaling), which skips most of the work; then every image is
    shrunk by area averaging (a box filter, 1.3x faster than the antialiased bilinear
    resize) or, when smaller than the target, enlarged bilinearly. Grey and PNG files
    come out as 3-channel RGB.
    """
    import tensorflow as tf

    def decode_jpeg(raw):
        height_width = tf.io.extract_jpeg_shape(raw)[:2]
        scale = tf.cast(tf.reduce_min(height_width), tf.float32) / img_size
        step = tf.clip_by_value(tf.math.floor(tf.math.log(scale) / tf.math.log(2.0)), 0, 3)
        branches = [lambda ratio=ratio: tf.io.decode_jpeg(raw, channels=3, ratio=ratio)
                    for ratio in (1, 2, 4, 8)]
        return tf.switch_case(tf.cast(step, tf.int32), branches)

    def load(path):
        raw = tf.io.read_file(path)
        image = tf.cond(tf.io.is_jpeg(raw), lambda: decode_jpeg(raw),
                        lambda: tf.io.decode_image(raw, channels=3, expand_animations=False))
        image.set_shape([None, None, 3])
        shrinks = tf.reduce_min(tf.shape(image)[:2]) >= img_size
        image = tf.cond(shrinks,
                        lambda: tf.image.resize(image, (img_size, img_size), method="area"),
                        lambda: tf.image.resize(image, (img_size, img_size)))
        return tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8)

    return (tf.data.Dataset.from_tensor_slices(list(paths))
            .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True))


def load_images(data_dir: str | Path, names, img_size: int,
                cache_dir: str | Path | None = DEFAULT_CACHE) -> np.ndarray:
    """All images as one uint8 array (N, img_size, img_size, 3), cached on disk."""
    paths = image_paths(data_dir, names)
    cache = None
    if cache_dir is not None:
        key = hashlib.sha1("\n".join([DECODER_VERSION, str(img_size), *paths]).encode())
        for path in (paths[0], paths[-1], str(Path(data_dir) / "train.csv")):
            stat = os.stat(path)
            key.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
        cache = Path(cache_dir) / f"images-{img_size}px-{len(paths)}-{key.hexdigest()[:16]}.npy"
        if cache.is_file():
            return np.load(cache)
    images = np.empty((len(paths), img_size, img_size, 3), dtype=np.uint8)
    start = 0
    for batch in decode_dataset(paths, img_size).batch(256).prefetch(2).as_numpy_iterator():
        images[start:start + len(batch)] = batch
        start += len(batch)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        partial = cache.with_suffix(".partial.npy")
        np.save(partial, images)
        partial.replace(cache)
    return images


# --------------------------------------------------------------------------- splits
def split_rows(ids, validation_split: float, split: str = "seed",
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation).

    ``"seed"`` reproduces Keras ``validation_split``: the last fraction of the rows,
    unshuffled. ``"known"`` is a seeded split in which every known whale in validation
    also has images in training, and ``new_whale`` keeps its share.
    """
    if not 0 < validation_split < 1:
        raise ValueError(f"VALIDATION_SPLIT must be between 0 and 1, got {validation_split}")
    ids = np.asarray(ids)
    n = len(ids)
    if split == "seed":
        split_at = int(np.floor(n * (1.0 - validation_split)))
        return np.arange(split_at), np.arange(split_at, n)
    if split != "known":
        raise ValueError(f"SPLIT must be one of {SPLITS}, got {split!r}")
    rng = np.random.default_rng(seed)
    val: list[int] = []
    for whale in np.unique(ids[ids != NEW_WHALE]):
        rows = rng.permutation(np.flatnonzero(ids == whale))
        take = min(int(np.floor(len(rows) * validation_split + rng.random())), len(rows) - 1)
        val.extend(rows[:take])
    new_rows = rng.permutation(np.flatnonzero(ids == NEW_WHALE))
    share = len(new_rows) / n
    n_new_val = min(len(new_rows), int(round(len(val) * share / max(1e-9, 1 - share))))
    val.extend(new_rows[:n_new_val])
    val_idx = np.sort(np.array(val, dtype=int))
    return np.setdiff1d(np.arange(n), val_idx), val_idx


# --------------------------------------------------------------------------- data set
@dataclass
class WhaleData:
    """Images, labels and split of the first ``N_ROWS`` rows of a data set."""

    frame: pd.DataFrame          # Image, Id, label
    images: np.ndarray           # uint8 (N, size, size, 3)
    encoder: LabelEncoder
    train_idx: np.ndarray
    val_idx: np.ndarray
    split: str = "seed"
    source: str = field(default="")

    @property
    def labels(self) -> np.ndarray:
        return self.frame["label"].to_numpy(np.int32)

    @property
    def x_train(self) -> np.ndarray:
        return self.images[self.train_idx]

    @property
    def y_train(self) -> np.ndarray:
        return self.labels[self.train_idx]

    @property
    def x_val(self) -> np.ndarray:
        return self.images[self.val_idx]

    @property
    def y_val(self) -> np.ndarray:
        return self.labels[self.val_idx]

    def train_val(self, array):
        """``array`` (one row per image) cut into its training and validation rows."""
        return array[self.train_idx], array[self.val_idx]

    @property
    def n_classes(self) -> int:
        return len(self.encoder.classes_)

    @property
    def new_whale_label(self) -> int:
        return int(self.encoder.transform([NEW_WHALE])[0]) if NEW_WHALE in self.encoder.classes_ else -1

    def describe(self) -> str:
        """A short, machine-independent summary of the rows and the split."""
        ids = self.frame["Id"]
        val_ids = ids.iloc[self.val_idx]
        seen = val_ids.isin(set(ids.iloc[self.train_idx]))
        known_val = val_ids != NEW_WHALE
        lines = [
            f"rows: {len(ids)} ({self.source})  image size: {self.images.shape[1]} px, "
            f"{self.images.dtype}, {self.images.nbytes / 2**20:.1f} MiB",
            f"classes (Ids, new_whale included): {self.n_classes}",
            f"new_whale rows: {(ids == NEW_WHALE).sum()} ({(ids == NEW_WHALE).mean():.1%})",
            f"split {self.split!r}: {len(self.train_idx)} training rows, {len(self.val_idx)} validation rows",
            f"validation rows that are new_whale: {(~known_val).sum()} ({(~known_val).mean():.1%})",
            f"validation rows of a known whale also seen in training: "
            f"{(known_val & seen).sum()} ({(known_val & seen).mean():.1%})",
            f"validation rows no classifier can get right (Id absent from training): "
            f"{(~seen).sum()} ({(~seen).mean():.1%})",
        ]
        return "\n".join(lines)


def load_dataset(data_dir: str | Path, n_rows: int | None, img_size: int,
                 validation_split: float = 0.3, split: str = "seed", seed: int = 0,
                 cache_dir: str | Path | None = DEFAULT_CACHE) -> WhaleData:
    """Labels, encoded Ids, uint8 images and a train/validation split, in one call."""
    if img_size < 32:
        raise ValueError(f"IMG_SIZE must be at least 32 px (ResNet50V2's minimum), got {img_size}")
    frame = read_labels(data_dir, n_rows)
    labels, encoder = encode_labels(frame["Id"])
    frame = frame.assign(label=labels)
    train_idx, val_idx = split_rows(frame["Id"], validation_split, split, seed)
    images = load_images(data_dir, frame["Image"], img_size, cache_dir)
    source = "synthetic" if (Path(data_dir) / SYNTHETIC_MARKER).exists() else "photos"
    return WhaleData(frame, images, encoder, train_idx, val_idx, split, source)
