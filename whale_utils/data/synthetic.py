"""A synthetic stand-in for the Kaggle humpback whale data, in exactly its layout.

``train/*.jpg`` (9-hex-digit names) and ``train.csv`` (``Image,Id``, sorted by
``Image``). Each whale is drawn from its own random state (fluke outline, trailing-edge
scallops and nicks, ventral pigmentation, scars) and photographed the way a camera on a
boat would: position, scale, rotation, foreshortening, submersion and splash, sea and
sky, exposure, colour cast, uneven light, blur, grey-scale and JPEG quality. The label
file follows the real data's shape: 38 % ``new_whale`` (each a different, never-seen
individual) and the real distribution of images per known whale.

    python -m whale_utils.data.synthetic --out data/synthetic/default --images 2000 --seed 0

Same seed and options give byte-identical files.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from whale_utils.data import NEW_WHALE, SYNTHETIC_MARKER

NEW_WHALE_SHARE = 9664 / 25361
MARKER = SYNTHETIC_MARKER
GENERATOR_VERSION = 3

# Known whales in the real train.csv by how many images each has: {images: whales}.
REAL_IMAGES_PER_WHALE = {
    1: 2073, 2: 1285, 3: 568, 4: 273, 5: 172, 6: 136, 7: 86, 8: 76, 9: 62, 10: 46,
    11: 39, 12: 26, 13: 14, 14: 16, 15: 19, 16: 16, 17: 17, 18: 6, 19: 8, 20: 7,
    21: 7, 22: 5, 23: 4, 24: 7, 25: 2, 27: 1, 29: 2, 30: 3, 31: 3, 32: 1, 33: 1,
    34: 2, 35: 1, 36: 1, 37: 3, 40: 3, 45: 2, 47: 1, 48: 1, 49: 1, 50: 1, 51: 1,
    54: 1, 57: 1, 61: 1, 62: 1, 65: 1, 73: 1,
}
REAL_IMAGES = 25361
GREY_SHARE = 0.30
CAPTION_SHARE = 0.04
TEMPLATE_WIDTH = 360


# --------------------------------------------------------------------------- labels
def plan_labels(n_images: int, rng: np.random.Generator) -> list[str]:
    """Ids for ``n_images`` photos, in random order, with the real data's shape.

    The share of ``new_whale`` is the real one; known whales get image counts drawn
    from the real distribution (up to 73), capped at 5 % of the known photos.
    """
    if n_images < 1:
        raise ValueError(f"images must be a positive number, got {n_images}")
    n_new = int(round(n_images * NEW_WHALE_SHARE))
    n_known = n_images - n_new
    sizes = np.array(list(REAL_IMAGES_PER_WHALE))
    weights = np.array(list(REAL_IMAGES_PER_WHALE.values()), dtype=float)
    cap = max(1, n_known // 20)     # no whale takes more than 5 % of a small set
    counts: list[int] = []
    while sum(counts) < n_known:
        counts.append(int(min(rng.choice(sizes, p=weights / weights.sum()), cap)))
    counts[-1] -= sum(counts) - n_known
    ids = _unique_hex(rng, len(counts), 7)
    labels = [f"w_{whale}" for whale, count in zip(ids, counts) for _ in range(count)]
    labels += [NEW_WHALE] * n_new
    return list(rng.permutation(labels))


def _unique_hex(rng: np.random.Generator, n: int, digits: int) -> list[str]:
    values = rng.choice(16**digits, size=n, replace=False)
    return [format(int(v), f"0{digits}x") for v in values]


# --------------------------------------------------------------------------- whales
@dataclass(frozen=True)
class Whale:
    """One individual: everything that stays the same across its photos."""

    template: Image.Image  # RGBA fluke, ventral side, TEMPLATE_WIDTH wide


def make_whale(rng: np.random.Generator) -> Whale:
    """Draw one individual's fluke: outline, pigmentation and scars."""
    w, h = TEMPLATE_WIDTH, TEMPLATE_WIDTH // 2
    outline = _fluke_outline(rng, w, h)
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).polygon(outline, fill=255)
    skin = _pigmentation(rng, w, h)
    tone = rng.uniform(0.9, 1.05) * np.array([0.97, 1.0, 1.03])
    rgb = np.clip(np.asarray(skin, dtype=np.float32)[..., None] * tone, 0, 255)
    template = Image.fromarray(rgb.astype(np.uint8), "RGB")
    template.putalpha(mask.filter(ImageFilter.GaussianBlur(0.7)))
    return Whale(template)


def _fluke_outline(rng, w, h) -> list[tuple[float, float]]:
    """Polygon of a fluke seen from behind: two lobes, central notch, serrated edge."""
    span = rng.uniform(0.86, 0.98) * w
    notch_y = rng.uniform(0.18, 0.28) * h
    tip_y = notch_y - rng.uniform(-0.04, 0.14) * h
    sweep = rng.uniform(-0.06, 0.10) * h        # trailing edge bows up or down
    asym = rng.uniform(-0.03, 0.03) * h         # one tip higher than the other
    notch_depth = rng.uniform(0.03, 0.08) * h
    chord = rng.uniform(0.45, 0.62) * h         # lobe depth next to the body
    stock = rng.uniform(0.08, 0.13) * w         # width of the tail stock
    fullness = rng.uniform(0.5, 1.2)            # how quickly a lobe widens
    n_scallops = int(rng.integers(14, 30))
    scallop = rng.uniform(0.006, 0.016) * h
    nicks = [(rng.uniform(0.05, 0.95), rng.uniform(0.01, 0.04), rng.uniform(0.01, 0.05) * h)
             for _ in range(int(rng.integers(0, 5)))]
    cx, left, right = w / 2, (w - span) / 2, (w + span) / 2
    t = np.linspace(0, 1, 90)

    def edge_base(side: int, x: np.ndarray) -> np.ndarray:
        tip = left if side < 0 else right
        s = np.clip((x - tip) / (cx - tip), 0, 1)
        return (tip_y + side * asym) + (notch_y - tip_y - side * asym) * s ** 1.6 \
            - sweep * np.sin(np.pi * s), s

    def trailing(side: int) -> np.ndarray:
        tip = left if side < 0 else right
        x = tip + (cx - tip) * t
        y, _ = edge_base(side, x)
        y = y + notch_depth * np.exp(-((1 - t) / 0.05) ** 2)
        y = y - scallop * np.abs(np.sin(n_scallops * np.pi * t))
        for pos, width, depth in nicks:
            if (pos < 0.5) == (side < 0):
                y = y + depth * np.exp(-((t - (pos * 2 % 1)) / width) ** 2)
        return np.stack([x, y], axis=1)

    def leading(side: int) -> np.ndarray:
        tip = left if side < 0 else right
        x = tip + (cx + side * stock / 2 - tip) * t
        y, s = edge_base(side, x)
        return np.stack([x, y + chord * np.sin(np.pi / 2 * s) ** fullness + 0.01 * h], axis=1)

    stock_base = [(cx + stock * 0.7, h), (cx - stock * 0.7, h)]
    points = np.concatenate([trailing(-1), trailing(+1)[::-1], leading(+1),
                             np.array(stock_base), leading(-1)[::-1]])
    return [tuple(p) for p in points]


def _pigmentation(rng, w, h) -> Image.Image:
    """Grey-level map of the ventral side: from almost black to almost white.

    The patches are large (a tenth to a third of a lobe), so that a whale stays
    recognisable in a photo shrunk to 48 px, as real flukes do."""
    white = rng.beta(1.4, 1.4)      # share of white: any, the all-black and all-white rarer
    dark, light = rng.uniform(15, 45), rng.uniform(205, 245)
    skin = Image.new("L", (w, h), int(dark))
    draw = ImageDraw.Draw(skin)
    for _ in range(int(round(white * 7)) + int(rng.integers(1, 3))):   # white patches
        side = rng.choice([-1, 1])
        cx = w / 2 + side * rng.uniform(0.06, 0.40) * w
        cy = rng.uniform(0.25, 0.65) * h
        rx = rng.uniform(0.05, 0.14) * w * (0.6 + white)
        ry = rng.uniform(0.08, 0.22) * h * (0.6 + white)
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=int(light))
    for _ in range(int(rng.integers(0, 4))):                           # streaks
        x0, y0 = rng.uniform(0.1, 0.9) * w, rng.uniform(0.25, 0.7) * h
        angle = rng.uniform(-0.6, 0.6)
        length = rng.uniform(0.08, 0.25) * w
        tone = int(light if rng.random() < 0.5 else dark)
        draw.line([x0, y0, x0 + length * np.cos(angle), y0 + length * np.sin(angle)],
                  fill=tone, width=int(rng.integers(5, 14)))
    for _ in range(int(rng.integers(3, 20))):                          # spots
        x0, y0, r = rng.uniform(0.05, 0.95) * w, rng.uniform(0.2, 0.7) * h, rng.uniform(2, 7)
        tone = int(dark if rng.random() < white else light)
        draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], fill=tone)
    skin = skin.filter(ImageFilter.GaussianBlur(rng.uniform(1.0, 3.0)))
    draw = ImageDraw.Draw(skin)
    for _ in range(int(rng.integers(0, 4))):                           # rake marks
        x0, y0 = rng.uniform(0.1, 0.85) * w, rng.uniform(0.3, 0.65) * h
        angle, length = rng.uniform(-1.2, 1.2), rng.uniform(0.04, 0.12) * w
        for k in range(int(rng.integers(2, 5))):
            dx, dy = -np.sin(angle) * 5 * k, np.cos(angle) * 5 * k
            draw.line([x0 + dx, y0 + dy, x0 + dx + length * np.cos(angle),
                       y0 + dy + length * np.sin(angle)], fill=int(rng.uniform(140, 230)), width=2)
    for _ in range(int(rng.integers(0, 4))):                           # circular scars
        x0, y0, r = rng.uniform(0.1, 0.9) * w, rng.uniform(0.3, 0.65) * h, rng.uniform(4, 9)
        draw.ellipse([x0 - r, y0 - r, x0 + r, y0 + r], outline=int(rng.uniform(150, 230)), width=2)
    rows = np.clip((np.arange(h) / h - 0.12) / 0.12, 0, 1)[:, None]    # dark trailing edge
    skin = np.asarray(skin, dtype=np.float32) * rows + dark * (1 - rows)
    return Image.fromarray(skin.astype(np.uint8), "L")


# --------------------------------------------------------------------------- photos
def photo_size(rng: np.random.Generator, size: float) -> tuple[int, int]:
    """A width and height with the real set's shape (69 % are 1050 wide), times size."""
    width = 1050 if rng.random() < 0.69 else int(rng.choice([rng.uniform(360, 1040),
                                                             rng.uniform(1100, 2600)]))
    aspect = rng.uniform(400, 860) / 1050
    return max(32, int(round(width * size))), max(24, int(round(width * aspect * size)))


def take_photo(whale: Whale, rng: np.random.Generator, size: float) -> Image.Image:
    """Photograph ``whale`` at sea: one random camera, sea state and exposure."""
    width, height = photo_size(rng, size)
    photo = _sea(rng, width, height)
    fluke = _posed_fluke(whale, rng, width, height)
    # Photographers keep the fluke near the centre of the frame.
    x = int(rng.uniform(0.3, 0.7) * (width - fluke.width) if width > fluke.width
            else (width - fluke.width) / 2)
    y = int((height - fluke.height) * rng.uniform(0.25, 0.55))
    photo.paste(fluke, (x, y), fluke)
    waterline = y + fluke.height * rng.uniform(0.55, 1.0)
    _splash(photo, rng, x, x + fluke.width, waterline)
    photo = _camera(photo, rng, size)
    if rng.random() < CAPTION_SHARE:
        photo = _caption(photo, rng)
    if rng.random() < GREY_SHARE:
        photo = photo.convert("L")
        if rng.random() < 0.5:
            photo = photo.convert("RGB")        # grey pixels in a colour file
    return photo


def _sea(rng, width, height) -> Image.Image:
    """Sea background: colour gradient, wave texture, white caps, maybe sky."""
    top, bottom = _sea_colour(rng), _sea_colour(rng) * rng.uniform(0.6, 0.95)
    rows = np.linspace(0, 1, height)[:, None, None]
    img = (top * (1 - rows) + bottom * rows + np.zeros((height, width, 3))).astype(np.float32)
    small_h, small_w = max(2, height // 4), max(2, width // 4)
    yy, xx = np.mgrid[0:small_h, 0:small_w] / small_w
    waves = np.zeros((small_h, small_w), dtype=np.float32)
    for _ in range(4):
        freq, phase, tilt = rng.uniform(20, 90), rng.uniform(0, 6.3), rng.uniform(-0.4, 0.4)
        waves += np.sin(freq * (yy + tilt * xx) + phase + 3 * np.sin(freq / 7 * xx))
    texture = waves * rng.uniform(3, 9) + rng.normal(size=waves.shape) * rng.uniform(4, 12)
    texture = np.asarray(Image.fromarray(texture.astype(np.float32)).resize(
        (width, height), Image.BILINEAR))
    img += texture[..., None]
    if rng.random() < 0.3:                                             # sky and horizon
        horizon = int(height * rng.uniform(0.08, 0.3))
        sky = rng.uniform(170, 235) * np.array([0.93, 0.97, 1.0])
        img[:horizon] = sky - np.linspace(0, 25, horizon)[:, None, None]
    photo = Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")
    draw = ImageDraw.Draw(photo)
    for _ in range(int(rng.integers(0, 12))):                          # white caps
        cx, cy = rng.uniform(0, width), rng.uniform(0.3, 1) * height
        rx, ry = rng.uniform(2, 10) * width / 260, rng.uniform(0.5, 1.5) * width / 260
        draw.ellipse([cx - rx, cy - ry, cx + rx, cy + ry], fill=(235, 240, 240))
    return photo


def _sea_colour(rng) -> np.ndarray:
    palette = np.array([[40, 70, 110], [30, 60, 75], [70, 95, 120], [25, 45, 60],
                        [90, 110, 115], [20, 55, 65], [110, 125, 140]], dtype=float)
    return palette[rng.integers(len(palette))] * rng.uniform(0.8, 1.25)


def _posed_fluke(whale: Whale, rng, width, height) -> Image.Image:
    """The template scaled, foreshortened (tilt, yaw), rotated and partly submerged."""
    span = (0.30 + 0.65 * rng.beta(6.0, 1.2)) * width   # mostly 75-95 %, a few far away
    yaw = rng.uniform(0.85, 1.0)
    tilt = rng.uniform(0.85, 1.05)
    w = max(8, int(span * yaw))
    h = max(4, int(span / 2 * tilt))
    fluke = whale.template.resize((w, h), Image.BILINEAR)
    fluke = fluke.rotate(float(np.clip(rng.normal(0, 4), -15, 15)), resample=Image.BILINEAR, expand=True)
    alpha = np.asarray(fluke.getchannel("A"), dtype=np.float32)
    sink = rng.uniform(0.0, 0.3) if rng.random() < 0.6 else 0.0
    cut = int(fluke.height * (1 - sink))
    alpha[cut:] *= 0.15
    fluke.putalpha(Image.fromarray(alpha.astype(np.uint8)))
    return fluke


def _splash(photo, rng, x0, x1, waterline) -> None:
    """White water where the fluke leaves the sea: foam blobs, softened."""
    foam = Image.new("L", photo.size, 0)
    draw = ImageDraw.Draw(foam)
    for _ in range(int(rng.integers(10, 80))):
        cx = rng.uniform(x0, x1)
        cy = waterline + rng.normal(0, 0.025) * photo.height
        r = rng.uniform(0.5, 4) * photo.width / 260
        draw.ellipse([cx - r, cy - r / 2, cx + r, cy + r / 2], fill=int(rng.uniform(120, 255)))
    foam = foam.filter(ImageFilter.GaussianBlur(photo.width / 400))
    photo.paste((240, 242, 242), (0, 0), foam)


def _camera(photo: Image.Image, rng, size) -> Image.Image:
    """Exposure, contrast, colour cast, uneven light and blur."""
    arr = np.asarray(photo, dtype=np.float32)
    mean = arr.mean()
    arr = (arr - mean) * rng.uniform(0.75, 1.3) + mean * rng.uniform(0.75, 1.25)
    arr *= 1 + rng.uniform(-0.10, 0.10, size=3)
    height, width = arr.shape[:2]                       # uneven light: sun on one side
    angle = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:height, 0:width]
    ramp = np.cos(angle) * (xx / width - 0.5) + np.sin(angle) * (yy / height - 0.5)
    arr *= (1 + rng.uniform(0.0, 0.5) * ramp)[..., None]
    photo = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "RGB")
    return photo.filter(ImageFilter.GaussianBlur(rng.uniform(0, 1.2) * size * 4))


def _caption(photo: Image.Image, rng) -> Image.Image:
    """A catalogue number and date on a white band, as on some real photos."""
    band = max(10, photo.height // 10)
    out = Image.new("RGB", (photo.width, photo.height + band), (255, 255, 255))
    out.paste(photo, (0, 0))
    font = ImageFont.load_default(size=max(6, int(band * 0.6)))
    text = f"HWC #{int(rng.integers(1000, 9999))}   {int(rng.integers(1985, 2018))}"
    ImageDraw.Draw(out).text((4, photo.height + band * 0.15), text, fill=(0, 0, 0), font=font)
    return out


# --------------------------------------------------------------------------- writing
def generate(out: str | Path, images: int = 2000, seed: int = 0, size: float = 0.25,
             force: bool = False, workers: int | None = None) -> Path:
    """Write a synthetic data set to ``out`` (``train/`` and ``train.csv``).

    Refuses a folder that holds files it did not make; leaves an up-to-date set
    alone unless ``force``. ``workers`` processes draw the photos (default: one per core).
    """
    out = Path(out)
    if size <= 0 or size > 2:
        raise ValueError(f"size must be in (0, 2] (a factor of the real photo size), got {size}")
    options = {"images": int(images), "seed": int(seed), "size": float(size),
               "version": GENERATOR_VERSION}
    marker = out / MARKER
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file, not a folder; give --out a folder to write "
                              "train/ and train.csv into (nothing was written)")
    written = _files_written(out)
    if written is not None and not force and _options_of(marker) == options:
        return out
    foreign = sorted(str(path) for path in out.rglob("*") if path.is_file()
                     and path.relative_to(out).as_posix() not in (written or set()))
    if foreign:
        what = (f"has no {MARKER} marker, so it is not a synthetic set made by whale_utils"
                if written is None else "holds files this generator did not write")
        raise FileExistsError(
            f"{out} {what}: {foreign[0]}" + (f" and {len(foreign) - 1} more" if len(foreign) > 1
                                             else "")
            + ". Move them away or choose another --out folder (nothing was changed)")
    rng = np.random.default_rng([seed, 0])
    labels = plan_labels(images, rng)
    names = [f"{h}.jpg" for h in _unique_hex(rng, images, 9)]
    train = out / "train"
    for old in sorted(written or ()):
        if old not in (MARKER, "train.csv"):
            (out / old).unlink(missing_ok=True)
    train.mkdir(parents=True, exist_ok=True)
    files = [f"train/{name}" for name in names]
    marker.write_text(json.dumps({**options, "complete": False, "files": files}))
    keys = {label: key for key, label in enumerate(dict.fromkeys(
        label for label in labels if label != NEW_WHALE))}
    photos = [(index, name, keys.get(label)) for index, (name, label)
              in enumerate(zip(names, labels))]
    chunks = [[p for p in photos if (p[0] if p[2] is None else p[2]) % 16 == c] for c in range(16)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(photos) // 50 or 1))
    if workers == 1:
        for chunk in chunks:
            _render(train, seed, size, chunk)
    else:
        with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as pool:
            list(pool.map(_render, [train] * 16, [seed] * 16, [size] * 16, chunks))
    rows = sorted(zip(names, labels))
    (out / "train.csv").write_text(
        "Image,Id\n" + "".join(f"{name},{label}\n" for name, label in rows))
    marker.write_text(json.dumps({**options, "files": files}))
    return out


def _files_written(out: Path) -> set[str] | None:
    """The files (relative paths) an earlier run of ``generate`` wrote to ``out``: those
    its marker lists, with the marker and train.csv; ``None`` when ``out`` has no marker
    (an empty or missing folder gives the empty set)."""
    marker = out / MARKER
    if not marker.is_file():
        return None if out.is_dir() and any(out.iterdir()) else set()
    try:
        files = json.loads(marker.read_text()).get("files")
    except (json.JSONDecodeError, AttributeError):
        files = None
    if files is None and (out / "train.csv").is_file():   # marker of an older version
        files = [f"train/{line.split(',')[0]}" for line in
                 (out / "train.csv").read_text().splitlines()[1:] if line]
    return {*(files or ()), MARKER, "train.csv"}


def _options_of(marker: Path) -> dict | None:
    """The options a finished set was made with (``None`` if unfinished or unreadable)."""
    try:
        recorded = json.loads(marker.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    if not isinstance(recorded, dict) or recorded.get("complete") is False:
        return None
    return {k: v for k, v in recorded.items() if k != "files"}


def _render(train: Path, seed: int, size: float, photos) -> None:
    """Draw and save ``(index, name, whale key or None)`` photos; each depends on its
    own seeds only, so any split of the work gives the same bytes."""
    whales: dict[int, Whale] = {}
    for index, name, key in photos:
        if key is None:                           # new_whale: a fresh individual
            whale = make_whale(np.random.default_rng([seed, 2, index]))
        elif key in whales:
            whale = whales[key]
        else:
            whale = whales[key] = make_whale(np.random.default_rng([seed, 1, key]))
        photo_rng = np.random.default_rng([seed, 3, index])
        photo = take_photo(whale, photo_rng, size)
        photo.save(train / name, "JPEG", quality=int(photo_rng.integers(70, 96)))


# --------------------------------------------------------------------------- checks
def statistics(folder: str | Path) -> dict:
    """The numbers that make a set look like the real one, measured from its files."""
    import pandas as pd

    folder = Path(folder)
    frame = pd.read_csv(folder / "train.csv")
    per_whale = frame.loc[frame["Id"] != NEW_WHALE, "Id"].value_counts()
    sizes, grey, modes, file_bytes = [], 0, {"L": 0, "RGB": 0}, []
    for name in frame["Image"]:
        path = folder / "train" / name
        with Image.open(path) as photo:
            sizes.append(photo.size)
            modes[photo.mode] = modes.get(photo.mode, 0) + 1
            if photo.mode == "L" or _looks_grey(photo):
                grey += 1
        file_bytes.append(path.stat().st_size)
    widths = np.array([w for w, _ in sizes])
    heights = np.array([h for _, h in sizes])
    common = np.bincount(widths).argmax()
    return {
        "images": len(frame),
        "new_whale_share": float(np.mean(frame["Id"] == NEW_WHALE)),
        "known_whales": int(len(per_whale)),
        "images_per_whale": {int(k): int(v) for k, v in
                             per_whale.value_counts().sort_index().items()},
        "grey_share": grey / len(frame),
        "single_channel_share": modes.get("L", 0) / len(frame),
        "commonest_width": int(common),
        "commonest_width_share": float(np.mean(widths == common)),
        "height_range_at_commonest_width": [int(heights[widths == common].min()),
                                            int(heights[widths == common].max())],
        "mean_file_kib": float(np.mean(file_bytes) / 1024),
    }


def _looks_grey(photo: Image.Image) -> bool:
    small = np.asarray(photo.convert("RGB").resize((32, 32)), dtype=int)
    return int(np.abs(small - small.mean(axis=2, keepdims=True)).max()) <= 3


def format_statistics(stats: dict) -> str:
    """Our statistics next to the real data's."""
    real_known = sum(REAL_IMAGES_PER_WHALE.values())
    lines = [f"{'':34}{'synthetic':>12}{'real':>12}",
             f"{'images':34}{stats['images']:>12}{REAL_IMAGES:>12}",
             f"{'new_whale share':34}{stats['new_whale_share']:>12.1%}{NEW_WHALE_SHARE:>12.1%}",
             f"{'grey-scale share':34}{stats['grey_share']:>12.1%}{'~30%':>12}",
             f"{'single-channel JPEGs':34}{stats['single_channel_share']:>12.1%}{'some':>12}",
             f"{'commonest width (share)':34}{stats['commonest_width']:>6} "
             f"({stats['commonest_width_share']:.0%}){'1050 (69%)':>12}",
             f"{'heights at that width':34}{str(stats['height_range_at_commonest_width']):>12}"
             f"{'400-860':>12}",
             f"{'mean file size':34}{stats['mean_file_kib']:>9.1f} KiB",
             "known whales by images each (share of whales):"]
    known = stats["known_whales"]
    for count in (1, 2, 3, 4, 5):
        ours = stats["images_per_whale"].get(count, 0) / max(known, 1)
        lines.append(f"  {count} image(s){'':22}{ours:>12.1%}"
                     f"{REAL_IMAGES_PER_WHALE[count] / real_known:>12.1%}")
    more = sum(v for k, v in stats["images_per_whale"].items() if k > 5) / max(known, 1)
    real_more = sum(v for k, v in REAL_IMAGES_PER_WHALE.items() if k > 5) / real_known
    lines.append(f"  more than 5{'':22}{more:>12.1%}{real_more:>12.1%}")
    return "\n".join(lines)


def gallery(folder: str | Path, path: str | Path, whales: int = 6, photos: int = 5) -> Path:
    """A PNG grid: one row per whale (those with most photos), its photos side by side."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import pandas as pd

    folder = Path(folder)
    frame = pd.read_csv(folder / "train.csv")
    top = frame.loc[frame["Id"] != NEW_WHALE, "Id"].value_counts().index[:whales]
    fig, axes = plt.subplots(len(top), photos, figsize=(2.6 * photos, 1.8 * len(top)))
    for r, whale in enumerate(top):
        names = list(frame.loc[frame["Id"] == whale, "Image"])[:photos]
        for c in range(photos):
            ax = axes[r, c]
            ax.axis("off")
            if c < len(names):
                ax.imshow(Image.open(folder / "train" / names[c]).convert("RGB"))
                ax.set_title(f"{whale}" if c == 0 else "", fontsize=8, loc="left")
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=64)
    plt.close(fig)
    return Path(path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_utils.data.synthetic",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="folder to write train/ and train.csv")
    parser.add_argument("--images", type=int, default=2000, help="number of photos")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=float, default=0.25,
                        help="photo size as a factor of the real one (1050 px wide)")
    parser.add_argument("--force", action="store_true", help="regenerate an up-to-date set")
    parser.add_argument("--stats", action="store_true",
                        help="print the set's statistics next to the real data's")
    parser.add_argument("--gallery", metavar="PNG", help="write a grid of photos per whale")
    args = parser.parse_args(argv)
    try:
        path = generate(args.out, args.images, args.seed, args.size, args.force)
    except (FileExistsError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"synthetic data set ready: {path} ({args.images} images, seed {args.seed})")
    if args.stats:
        print(format_statistics(statistics(path)))
    if args.gallery:
        print(f"gallery written to {gallery(path, args.gallery)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
