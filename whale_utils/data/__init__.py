"""Read a data set in the Kaggle layout (``train.csv`` + ``train/``) and split it.

The loader never knows whether it reads the real photos or the synthetic stand-in.
Images are decoded with ``tf.data`` into uint8 arrays (never float64): the model
rescales. Decoded arrays are cached on disk, keyed by data set, rows and image size.
The synthetic stand-in itself is drawn by ``whale_utils.data.synthetic``.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import LabelEncoder

NEW_WHALE = "new_whale"
SYNTHETIC_MARKER = ".whale_synthetic.json"  # written by whale_utils.data.synthetic
COLUMNS = ("Image", "Id")
SPLITS = ("last-rows", "known")
RENAMED_SPLITS = {"seed": "last-rows"}     # old value: new name (the old one still works)
DECODER_VERSION = "dct-scaled-area-v2"  # part of the cache key: change it when decoding changes
MEMORY_FACTOR = 3  # the uint8 array, its training/validation copies and a batch pipeline
BATCH = 64  # photos per decoded batch: the pipeline holds two or three, whatever the count
EXIF_ORIENTATION = 0x0112  # the EXIF tag image viewers turn photos by
DEFAULT_CACHE = Path(os.environ.get("WHALE_CACHE", Path.home() / ".cache" / "whale-notebooks"))


# --------------------------------------------------------------------------- labels
def read_labels(data_dir: str | Path, n_rows: int | None = None) -> pd.DataFrame:
    """The first ``n_rows`` rows of ``DATA_DIR/train.csv`` (all when None), checked.

    Exact duplicate rows are dropped with a warning that counts them (kept, the same
    photo would land in training and validation); one photo under two Ids is an error.
    Asking for more rows than the file has uses them all, with a warning. The index is
    each row's line in the file (``row``), for messages.
    """
    csv = Path(data_dir) / "train.csv"
    if not csv.is_file():
        raise FileNotFoundError(
            f"{csv} not found. For the synthetic data run `make data`; for the real data "
            "put the Kaggle competition's train.csv and train/ in that folder (see data/README.md)")
    frame = _read_csv(csv)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ValueError(f"{csv}: column(s) {', '.join(missing)} missing; the header must be "
                         f"'Image,Id' (found {','.join(frame.columns)})")
    if frame.empty:
        raise ValueError(f"{csv} has a header but no rows; it needs one 'Image,Id' row per photo")
    for column in COLUMNS:
        empty = np.flatnonzero(frame[column].str.strip() == "")
        if len(empty):
            raise ValueError(f"{csv}, row {empty[0] + 2}: empty '{column}'; every row needs "
                             "an image file name and an Id (or new_whale)")
    frame = frame[list(COLUMNS)]
    _refuse_conflicts(csv, frame)
    duplicated = frame.duplicated()
    if duplicated.any():
        rows = ", ".join(str(r + 2) for r in np.flatnonzero(duplicated)[:5])
        warnings.warn(f"{csv}: dropped {int(duplicated.sum())} exact duplicate row(s) "
                      f"(file rows {rows}{', ...' if duplicated.sum() > 5 else ''}); each photo "
                      "is used once", stacklevel=2)
        frame = frame[~duplicated]
    if n_rows is not None:
        if n_rows < 2:
            raise ValueError(f"N_ROWS must be at least 2, got {n_rows}")
        if n_rows > len(frame):
            warnings.warn(f"N_ROWS={n_rows}, but {csv} has {len(frame)} rows: using all "
                          f"{len(frame)}", stacklevel=2)
        frame = frame.iloc[:n_rows]
    return frame.rename_axis("row").set_axis(frame.index + 2, axis=0)


def file_rows(names) -> list[int]:
    """The ``train.csv`` line of each name (``read_labels`` keeps it as the index)."""
    if isinstance(names, pd.Series) and names.index.name == "row":
        return [int(r) for r in names.index]
    return list(range(2, len(names) + 2))


def _read_csv(csv: Path) -> pd.DataFrame:
    """``train.csv`` as strings, with a clear error for an empty or non-UTF-8 file."""
    if csv.stat().st_size == 0:
        raise ValueError(f"{csv} is empty (0 bytes); it needs the header 'Image,Id' and one "
                         "row per photo")
    try:
        return pd.read_csv(csv, dtype=str, keep_default_na=False, encoding="utf-8")
    except UnicodeDecodeError:
        raw = csv.read_bytes()
        try:
            raw.decode("utf-8")
            position = 0
        except UnicodeDecodeError as err:
            position = err.start
        row = raw[:position].count(b"\n") + 1
        raise ValueError(f"{csv}, row {row}: byte {raw[position]:#04x} is not UTF-8 text; save "
                         "the file as UTF-8 (CSV UTF-8 in a spreadsheet)") from None
    except pd.errors.ParserError as err:
        raise ValueError(f"{csv} is not a readable CSV file ({err}); it needs the header "
                         "'Image,Id' and one row per photo") from None


def _refuse_conflicts(csv: Path, frame: pd.DataFrame) -> None:
    """One photo listed under two different Ids contradicts itself: name the rows."""
    ids_per_image = frame.groupby("Image")["Id"].nunique()
    conflicting = ids_per_image[ids_per_image > 1]
    if len(conflicting):
        image = conflicting.index[0]
        rows = [str(r + 2) for r in np.flatnonzero(frame["Image"].to_numpy() == image)]
        raise ValueError(
            f"{csv}: {image} is listed under different Ids in rows {', '.join(rows)}"
            + (f" ({len(conflicting) - 1} more photos too)" if len(conflicting) > 1 else "")
            + "; keep one Id per photo")


def encode_labels(ids) -> tuple[np.ndarray, LabelEncoder]:
    """Sparse integer labels (no one-hot), as the student encoded them."""
    encoder = LabelEncoder().fit(ids)
    return encoder.transform(ids).astype(np.int32), encoder


# --------------------------------------------------------------------------- images
def image_paths(data_dir: str | Path, names) -> list[str]:
    """Paths of ``train/<name>``; names every missing file and its CSV row."""
    folder = Path(data_dir) / "train"
    paths = [str(folder / name) for name in names]
    missing = [(path, row) for path, row in zip(paths, file_rows(names)) if not os.path.isfile(path)]
    if missing:
        listed = "; ".join(f"{path} (train.csv row {row})" for path, row in missing[:10])
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise FileNotFoundError(
            f"{len(missing)} photo(s) listed in train.csv do not exist: {listed}{more}. "
            "train.csv and train/ must come from the same data set")
    return paths


class BadPhotosError(ValueError):
    """Photos that cannot be decoded; ``bad`` lists (path, train.csv row, reason)."""

    def __init__(self, bad: list[tuple[str, int, str]]):
        self.bad = bad
        listed = "\n".join(f"  {path} (train.csv row {row}): {why}" for path, row, why in bad[:20])
        more = f"\n  ... and {len(bad) - 20} more" if len(bad) > 20 else ""
        super().__init__(
            f"{len(bad)} photo(s) cannot be read:\n{listed}{more}\nReplace them with good "
            "copies, delete their rows from train.csv, or load with bad_photos='skip' to "
            "leave them out (they are then counted and listed)")


def photo_orientations(paths) -> tuple[np.ndarray, dict[int, str]]:
    """Each photo's EXIF orientation (1-8, 1 = upright), read from its header only, and
    the photos whose header is unreadable (empty files, not images) with the reason."""
    from PIL import Image

    orientations = np.ones(len(paths), dtype=np.int32)
    unreadable: dict[int, str] = {}
    for i, path in enumerate(paths):
        try:
            with Image.open(path) as photo:
                value = photo.getexif().get(EXIF_ORIENTATION, 1)
        except Exception as err:  # noqa: BLE001 - PIL raises several types for bad files
            unreadable[i] = ("empty file (0 bytes)" if os.path.getsize(path) == 0 else
                             f"not a readable image ({type(err).__name__}: {err})")
            continue
        orientations[i] = value if isinstance(value, int) and 1 <= value <= 8 else 1
    return orientations, unreadable


def upright(image, orientation):
    """``image`` turned as its EXIF ``orientation`` says, as image viewers show it."""
    import tensorflow as tf

    def transpose(x):
        return tf.transpose(x, [1, 0, 2])

    turns = [lambda: image,                                  # 1: upright
             lambda: tf.reverse(image, [1]),                  # 2: mirrored
             lambda: tf.image.rot90(image, 2),                # 3: upside down
             lambda: tf.reverse(image, [0]),                  # 4: flipped
             lambda: transpose(image),                        # 5: transposed
             lambda: tf.image.rot90(image, 3),                # 6: turned left, needs 90° clockwise
             lambda: tf.image.rot90(transpose(image), 2),     # 7: transversed
             lambda: tf.image.rot90(image, 1)]                # 8: turned right, needs 90° anticlockwise
    return tf.switch_case(tf.cast(orientation, tf.int32) - 1, turns)


def decode_dataset(paths, img_size: int, orientations=None):
    """A ``tf.data`` pipeline of ``(index, uint8 img_size square)``, decoded in parallel.

    JPEGs much larger than the target are decoded at 1/2, 1/4 or 1/8 scale by the JPEG
    decoder itself (DCT scaling), which skips most of the work; each photo is turned
    upright by its EXIF ``orientations`` (1-8); then shrunk by area averaging (a box
    filter, 1.3x faster than the antialiased bilinear resize) or, when smaller than the
    target, enlarged bilinearly. Grey and PNG files come out as 3-channel RGB. A photo
    that cannot be decoded is left out (``ignore_errors``): its index is missing.
    """
    import tensorflow as tf

    def decode_jpeg(raw):
        height_width = tf.io.extract_jpeg_shape(raw)[:2]
        scale = tf.cast(tf.reduce_min(height_width), tf.float32) / img_size
        step = tf.clip_by_value(tf.math.floor(tf.math.log(scale) / tf.math.log(2.0)), 0, 3)
        branches = [lambda ratio=ratio: tf.io.decode_jpeg(raw, channels=3, ratio=ratio)
                    for ratio in (1, 2, 4, 8)]
        return tf.switch_case(tf.cast(step, tf.int32), branches)

    def load(index, path, orientation):
        raw = tf.io.read_file(path)
        image = tf.cond(tf.io.is_jpeg(raw), lambda: decode_jpeg(raw),
                        lambda: tf.io.decode_image(raw, channels=3, expand_animations=False))
        image = upright(image, orientation)
        image.set_shape([None, None, 3])
        shrinks = tf.reduce_min(tf.shape(image)[:2]) >= img_size
        image = tf.cond(shrinks,
                        lambda: tf.image.resize(image, (img_size, img_size), method="area"),
                        lambda: tf.image.resize(image, (img_size, img_size)))
        return index, tf.cast(tf.round(tf.clip_by_value(image, 0, 255)), tf.uint8)

    if orientations is None:
        orientations = np.ones(len(paths), dtype=np.int32)
    indices = np.arange(len(paths), dtype=np.int64)
    return (tf.data.Dataset.from_tensor_slices((indices, list(paths), np.asarray(orientations)))
            .map(load, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
            .ignore_errors())


def cache_file(cache_dir: str | Path, data_dir: str | Path, paths, img_size: int) -> Path:
    """The cache file of these photos at this size: its name changes when any photo, the
    list or ``train.csv`` changes (size and modification time of every file)."""
    absolute = [os.path.abspath(path) for path in paths]     # the same from any folder
    key = hashlib.sha1("\n".join([DECODER_VERSION, str(img_size), *absolute]).encode())
    for path in (*paths, str(Path(data_dir) / "train.csv")):
        stat = os.stat(path)
        key.update(f"{stat.st_size}:{stat.st_mtime_ns};".encode())
    return Path(cache_dir) / f"images-{img_size}px-{len(paths)}-{key.hexdigest()[:16]}.npy"


def read_cache(cache: Path, shape: tuple) -> np.ndarray | None:
    """The cached array, or ``None`` when absent; a damaged file is removed (and rebuilt)."""
    if not cache.is_file():
        return None
    try:
        images = np.load(cache)
        if images.shape == shape and images.dtype == np.uint8:
            return images
        problem = f"holds {images.dtype} {images.shape}, expected uint8 {shape}"
    except (ValueError, OSError, EOFError) as err:
        problem = f"cannot be read ({err})"
    warnings.warn(f"decoded-image cache {cache} {problem}: decoding the photos again", stacklevel=3)
    cache.unlink(missing_ok=True)
    return None


UMASK = os.umask(0o022)
os.umask(UMASK)     # read once (os.umask can only be read by setting it)


def write_atomically(path: str | Path, write) -> Path:
    """Write ``path`` through ``write(temporary_path)`` under a unique temporary name in
    its folder, then rename it: a reader (another run) never sees half a file, and a
    failed write (a full disk, an interrupt) leaves no partial file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.",
                                       suffix=".partial" + "".join(path.suffixes))
    os.close(handle)
    try:
        write(partial)
        os.chmod(partial, 0o666 & ~UMASK)      # as an ordinary file (mkstemp makes it 0600)
        os.replace(partial, path)
    except BaseException:
        Path(partial).unlink(missing_ok=True)
        raise
    return path


def write_cache(cache: Path, array: np.ndarray) -> None:
    """Keep ``array`` in the cache file ``cache`` (atomically); where the cache cannot be
    written (full disk, no permission) say so once and go on without it."""
    try:
        write_atomically(cache, lambda partial: np.save(partial, array))
    except OSError as err:
        warnings.warn(f"cannot write the cache file {cache} ({err.strerror or err}): going on "
                      "without it; free some space there or set WHALE_CACHE to another folder",
                      stacklevel=2)


def load_photos(data_dir: str | Path, names, img_size: int,
                cache_dir: str | Path | None = DEFAULT_CACHE,
                bad_photos: str = "stop") -> tuple[np.ndarray, np.ndarray]:
    """The decoded photos and the positions of the ``names`` they belong to.

    ``bad_photos="stop"`` raises ``BadPhotosError`` listing every photo that cannot be
    read (path, ``train.csv`` row, reason); ``"skip"`` leaves them out with a warning
    that counts and lists them (such a load is not cached).
    """
    if bad_photos not in ("stop", "skip"):
        raise ValueError(f"bad_photos={bad_photos!r}: must be 'stop' or 'skip'")
    paths = image_paths(data_dir, names)
    check_memory(len(paths), img_size)             # before any photo is decoded or read
    shape = (len(paths), img_size, img_size, 3)
    cache = cache_file(cache_dir, data_dir, paths, img_size) if cache_dir is not None else None
    if cache is not None and (images := read_cache(cache, shape)) is not None:
        return images, np.arange(len(paths))
    orientations, problems = photo_orientations(paths)
    images = np.zeros(shape, dtype=np.uint8)
    decoded = np.zeros(len(paths), dtype=bool)
    readable = np.array([i for i in range(len(paths)) if i not in problems], dtype=np.int64)
    pipeline = decode_dataset([paths[i] for i in readable], img_size, orientations[readable])
    for index, batch in pipeline.batch(BATCH).prefetch(1).as_numpy_iterator():
        images[readable[index]] = batch
        decoded[readable[index]] = True
    for i in np.flatnonzero(~decoded):
        problems.setdefault(int(i), "image data cannot be decoded (truncated or damaged file)")
    if problems:
        rows = file_rows(names)
        bad = [(paths[i], rows[i], why) for i, why in sorted(problems.items())]
        if bad_photos == "stop":
            raise BadPhotosError(bad)
        listed = "; ".join(f"{path} (row {row})" for path, row, _ in bad[:10])
        warnings.warn(f"skipped {len(bad)} unreadable photo(s) of {len(paths)}: {listed}"
                      + (" ..." if len(bad) > 10 else ""), stacklevel=2)
        kept = np.flatnonzero(decoded)
        return images[kept], kept
    if cache is not None:
        write_cache(cache, images)
    return images, np.arange(len(paths))


# --------------------------------------------------------------------------- splits
def split_name(split: str) -> str:
    """The current name of a split; an old name works, with a deprecation message."""
    if split in RENAMED_SPLITS:
        new = RENAMED_SPLITS[split]
        warnings.warn(f"SPLIT={split!r} is now called {new!r}: write SPLIT={new!r} "
                      f"(in the parameters cell or the profile); {split!r} still works for now",
                      FutureWarning, stacklevel=3)
        return new
    return split


def split_rows(ids, validation_split: float, split: str = "last-rows",
               seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Row indices (train, validation), both non-empty.

    ``"last-rows"`` reproduces Keras ``validation_split``: the last fraction of the rows,
    unshuffled. ``"known"`` is a seeded split in which every known whale in validation
    also has images in training, and ``new_whale`` keeps its share.
    """
    split = split_name(split)
    train, val = _split_rows(ids, validation_split, split, seed)
    for name, rows in (("training", train), ("validation", val)):
        if len(rows) == 0:
            raise ValueError(
                f"SPLIT={split!r} with VALIDATION_SPLIT={validation_split} leaves no {name} rows "
                f"among {len(ids)} rows: use more rows (N_ROWS) or a VALIDATION_SPLIT nearer 0.3")
    return train, val


def _split_rows(ids, validation_split: float, split: str, seed: int):
    if not 0 < validation_split < 1:
        raise ValueError(f"VALIDATION_SPLIT must be between 0 and 1, got {validation_split}")
    ids = np.asarray(ids)
    n = len(ids)
    if split == "last-rows":
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
    split: str = "last-rows"
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

    def used_params(self) -> dict:
        """What the run really read, for its metrics record: rows after any skipped photo
        (never more than the file has) and the kind of data."""
        return {"N_ROWS": len(self.frame), "DATA": self.source}

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
                 validation_split: float = 0.3, split: str = "last-rows", seed: int = 0,
                 cache_dir: str | Path | None = DEFAULT_CACHE,
                 bad_photos: str = "stop") -> WhaleData:
    """Labels, encoded Ids, uint8 images and a train/validation split, in one call.

    Cheap checks (labels, split; memory in ``load_photos``) come before any decoding.
    ``bad_photos="skip"`` leaves unreadable photos (and their rows) out, with a warning.
    """
    if img_size < 32:
        raise ValueError(f"IMG_SIZE must be at least 32 px (ResNet50V2's minimum), got {img_size}")
    split = split_name(split)
    frame = read_labels(data_dir, n_rows)
    split_rows(frame["Id"], validation_split, split, seed)      # fails fast on a bad split
    images, kept = load_photos(data_dir, frame["Image"], img_size, cache_dir, bad_photos)
    frame = frame.iloc[kept]
    labels, encoder = encode_labels(frame["Id"])
    frame = frame.assign(label=labels).reset_index(drop=True)
    train_idx, val_idx = split_rows(frame["Id"], validation_split, split, seed)
    source = "synthetic" if (Path(data_dir) / SYNTHETIC_MARKER).exists() else "photos"
    return WhaleData(frame, images, encoder, train_idx, val_idx, split, source)


def available_memory() -> int | None:
    """Bytes of memory the system can still give (``MemAvailable``), if it says."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return None
    return None


def check_memory(n_photos: int, img_size: int, available: int | None = None) -> None:
    """Refuse, before decoding, an image array that cannot fit in memory."""
    need = n_photos * img_size * img_size * 3 * MEMORY_FACTOR
    available = available_memory() if available is None else available
    if available is not None and need > available:
        raise MemoryError(
            f"IMG_SIZE={img_size} with {n_photos} photos needs about {need / 2**30:.1f} GiB "
            f"(the images and the copies training makes of them), and {available / 2**30:.1f} GiB "
            "is available: choose a smaller IMG_SIZE or N_ROWS")
