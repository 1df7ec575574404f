"""Metric learning (notebook 08): an embedding of flukes, nearest whales, and `new_whale`
as a similarity threshold.

A softmax needs several photos of a class to learn it; most whales have one. An
embedding network instead maps every photo to a point on the unit sphere, trained with
an additive angular margin (ArcFace: Deng et al., 2019) so that photos of one whale lie
closer than photos of two. A whale it has barely seen is then found by its nearest
photo, and `new_whale` is "no photo is close enough".
"""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
from keras import layers

from whale_utils import metrics
from whale_utils.lessons import AngularMargin, retrieval_scores

EMBEDDING_SIZE = 128
SCALE = 30.0       # ArcFace's s: the radius the cosines are scaled to before the softmax
MARGIN = 0.5       # ArcFace's m: the angle (radians) added to each photo's own whale
LEARNING_RATE = 2e-3   # Adam's, at the start; it decays to 0 along a cosine
FINE_TUNING_RATE = 1e-3   # the same for an ImageNet backbone: its weights are a good start
# Gentle augmentation while training (notebook 03's transform at half its ranges):
# degrees of rotation, fractions of zoom and of shift. No flips: a mirrored fluke is
# another whale's pattern.
GENTLE_AUGMENTATION = {"rotation": 5.0, "zoom": 0.05, "shift": 0.05}


def cnn_embedding(img_size: int, size: int = EMBEDDING_SIZE, seed: int = 0,
                  width: int = 32, dropout: float = 0.6) -> keras.Model:
    """The series' CNN trunk (three blocks of two 3x3 convolutions), flattened (where a
    mark sits on the fluke matters) and projected to ``size`` numbers on the unit sphere."""
    def block(filters):
        return [layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.BatchNormalization(), layers.MaxPooling2D()]

    return keras.Sequential([
        keras.Input((img_size, img_size, 3), dtype="uint8"),
        layers.Rescaling(1 / 255),
        *block(width), *block(2 * width), *block(4 * width),
        layers.Flatten(),
        layers.Dropout(dropout, seed=seed),
        layers.Dense(size),
        layers.UnitNormalization(),
    ], name="cnn_embedding")


def backbone_embedding(weights, img_size: int, backbone_size: int | None = None,
                       size: int = EMBEDDING_SIZE, seed: int = 0,
                       dropout: float = 0.5) -> keras.Model:
    """The ImageNet backbone cut where its map is 1/16 of the photo
    (``backbones.feature_map``, to fine-tune), flattened as the CNN trunk is, and
    projected to ``size`` numbers on the unit sphere."""
    from whale_utils import backbones

    trunk = backbones.feature_map(weights, img_size, backbone_size)
    return keras.Sequential([
        trunk,
        layers.Flatten(),
        layers.Dropout(dropout, seed=seed),
        layers.Dense(size),
        layers.UnitNormalization(),
    ], name="backbone_embedding")


def arcface_model(embedding: keras.Model, n_classes: int, scale: float = SCALE,
                  margin: float = MARGIN, learning_rate=LEARNING_RATE,
                  head_layer=AngularMargin) -> keras.Model:
    """The embedding under an ArcFace head (``head_layer``, by default notebook 08's
    ``AngularMargin``): (photos, labels) -> logits."""
    photos = keras.Input(embedding.input_shape[1:], dtype=embedding.inputs[0].dtype)
    labels = keras.Input((), dtype="int32")
    logits = head_layer(n_classes, scale, margin)([embedding(photos), labels])
    model = keras.Model([photos, labels], logits, name="arcface")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def fit_arcface(embedding: keras.Model, images, labels, epochs: int, batch_size: int,
                seed: int = 0, verbose: int = 2, margin: float = MARGIN,
                learning_rate: float = LEARNING_RATE, augmentation: layers.Layer | None = None,
                head_layer=AngularMargin):
    """Train ``embedding`` under an ArcFace head over the whales of ``labels`` (new_whale
    rows left out by the caller); the photos are shuffled every epoch, and the learning
    rate decays along a cosine from ``learning_rate`` to 0 at the last step. An
    ``augmentation`` layer, if given, transforms the photos during training only; the
    ArcFace head is a ``head_layer`` (notebook 08 passes the class its cell defines)."""
    import tensorflow as tf

    from whale_utils import training

    classes = np.unique(labels)
    index = np.searchsorted(classes, labels).astype("int32")
    steps = epochs * int(np.ceil(len(index) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=steps)
    if augmentation is not None:
        photos = keras.Input(embedding.input_shape[1:], dtype=embedding.inputs[0].dtype)
        embedding = keras.Model(photos, embedding(augmentation(photos)), name="augmented")
    model = arcface_model(embedding, len(classes), margin=margin, learning_rate=schedule,
                          head_layer=head_layer)
    batches = (tf.data.Dataset.from_tensor_slices((images, index))
               .shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
               .batch(batch_size).map(lambda x, y: ((x, y), y)).prefetch(2))
    return training.fit(model, train=batches, validation=None, epochs=epochs, verbose=verbose)


def embed(embedding: keras.Model, images, batch_size: int = 256) -> np.ndarray:
    """Unit embeddings of uint8 photos (or of their backbone features)."""
    return np.asarray(embedding.predict(images, batch_size=batch_size, verbose=0))


def shifted(images: np.ndarray, dy: int, dx: int) -> np.ndarray:
    """The photos moved ``dy`` pixels down and ``dx`` right, edges repeated (not mirrored:
    a mirrored fluke is another whale's pattern)."""
    pad = max(abs(dy), abs(dx))
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad), (0, 0)), mode="edge")
    height, width = images.shape[1:3]
    return padded[:, pad - dy:pad - dy + height, pad - dx:pad - dx + width]


def embed_shifted(embedding: keras.Model, images: np.ndarray, pixels: int,
                  unshifted: np.ndarray | None = None) -> np.ndarray:
    """Test-time averaging: the mean embedding of the photo and of its four copies moved
    ``pixels`` up, down, left and right, scaled back to length 1. ``unshifted``, the
    photos' own embeddings if already computed, saves embedding them again."""
    moves = [(pixels, 0), (-pixels, 0), (0, pixels), (0, -pixels)]
    views = [embed(embedding, images) if unshifted is None else unshifted]
    views += [embed(embedding, shifted(images, dy, dx)) for dy, dx in moves]
    mean = np.mean(views, axis=0)
    return mean / np.linalg.norm(mean, axis=1, keepdims=True)


def whale_similarity(query, gallery, gallery_labels, n_classes: int,
                     per_whale: str = "nearest", itself=None) -> np.ndarray:
    """For each query photo and each whale: the cosine similarity of its nearest gallery
    photo of that whale (``per_whale="nearest"``) or of the whale's mean embedding
    (``"mean"``); ``-inf`` for a whale with no gallery photo. ``itself``: for each query,
    the index of the same photo in the gallery (-1: not there), left out of its search."""
    query, gallery = np.asarray(query), np.asarray(gallery)
    labels = np.asarray(gallery_labels)
    rows = np.arange(len(query))
    itself = np.full(len(query), -1) if itself is None else np.asarray(itself)
    inside = itself >= 0
    if per_whale == "nearest":
        similarity = query @ gallery.T
        similarity[rows[inside], itself[inside]] = -np.inf
        return metrics.per_whale_max(similarity, labels, n_classes)
    if per_whale != "mean":
        raise ValueError(f"per_whale must be 'nearest' or 'mean', got {per_whale!r}")
    # In float64, then stored as float32: a whale's mean without the query's photo and
    # the others' means must round alike, or nearly equal embeddings (an embedding that
    # learned nothing) would rank the query's own whale first by rounding alone.
    query, gallery = query.astype(np.float64), gallery.astype(np.float64)
    whales = np.unique(labels)
    sums = np.stack([gallery[labels == w].sum(axis=0) for w in whales])
    best = np.full((len(query), n_classes), -np.inf, dtype=np.float32)
    best[:, whales] = query @ (sums / np.linalg.norm(sums, axis=1, keepdims=True)).T
    for row in rows[inside]:          # the whale's mean without the query's own photo
        whale = labels[itself[row]]
        rest = sums[np.searchsorted(whales, whale)] - gallery[itself[row]]
        norm = np.linalg.norm(rest)
        best[row, whale] = query[row] @ rest / norm if norm > 1e-9 else -np.inf
    return best


THRESHOLDS = np.round(np.arange(0.0, 1.0001, 0.02), 2)
TUNING_SHARE = 0.2   # of the training rows, held out of the embedding's training


def tuning_rows(n_rows: int, share: float = TUNING_SHARE, seed: int = 0):
    """Training row indices split in two: those the embedding learns from, and a held-out
    share on which the `new_whale` threshold is tuned (never the validation rows)."""
    order = np.random.default_rng(seed).permutation(n_rows)
    cut = int(round(n_rows * (1 - share)))
    return np.sort(order[:cut]), np.sort(order[cut:])


def threshold_curve(similarity, query_labels, new_whale: int,
                    thresholds=THRESHOLDS) -> dict[float, float]:
    """MAP@5 of the held-out training rows against the `new_whale` threshold, from their
    similarity to each whale (``whale_similarity``; never the validation rows)."""
    return {float(t): metrics.map_at_5(query_labels, retrieval_scores(similarity, new_whale, t))
            for t in thresholds}


def positions(rows, gallery_rows) -> np.ndarray:
    """For each of ``rows``, its index among ``gallery_rows`` (-1 where it is not one)."""
    index = {row: i for i, row in enumerate(np.asarray(gallery_rows).tolist())}
    return np.array([index.get(row, -1) for row in np.asarray(rows).tolist()])


def ablation(settings: dict[tuple, np.ndarray], steps: list[str], query_labels,
             new_whale: int) -> pd.DataFrame:
    """One row per setting (a tuple of on/off, one per step, mapped to the held-out rows'
    whale similarities): its threshold tuned on those rows, MAP@5 there, and the
    difference from the setting with every step off with its paired bootstrap interval
    (``low`` to ``high``, 95 %)."""
    per_row, rows = {}, []
    for switches, similarity in settings.items():
        threshold = choose_threshold(threshold_curve(similarity, query_labels, new_whale))
        per_row[switches] = metrics.per_row(query_labels,
                                            retrieval_scores(similarity, new_whale, threshold))
        rows.append({**{step: "on" if on else "off" for step, on in zip(steps, switches)},
                     "threshold": threshold, "MAP@5": float(per_row[switches]["ap5"].mean())})
    base = per_row[tuple(False for _ in steps)]["ap5"]
    for row, switches in zip(rows, settings):
        gain = metrics.paired_bootstrap(per_row[switches]["ap5"], base)
        row.update({"vs all off": gain["diff"], "low": gain["low"], "high": gain["high"]})
    return pd.DataFrame(rows).round({"MAP@5": 3, "vs all off": 3, "low": 3, "high": 3})


def best_setting(table: pd.DataFrame, steps: list[str]) -> dict[str, bool]:
    """The steps of the table's highest MAP@5 (on a tie, the one with fewer steps on)."""
    on = table[steps].eq("on")
    best = max(table.index, key=lambda i: (table.loc[i, "MAP@5"], -int(on.loc[i].sum())))
    return {step: bool(on.loc[best, step]) for step in steps}


def choose_threshold(curve: dict[float, float], fixed: float | None = None) -> float:
    """The threshold of the curve's highest MAP@5 (the lowest, on a tie); or, given a
    ``fixed`` one, the curve's threshold nearest to it."""
    if fixed is not None:
        return min(curve, key=lambda t: abs(t - fixed))
    return max(curve, key=lambda t: (curve[t], -t))
