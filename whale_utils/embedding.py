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
from keras import layers, ops

from whale_utils import metrics

EMBEDDING_SIZE = 128
SCALE = 30.0       # ArcFace's s: the radius the cosines are scaled to before the softmax
MARGIN = 0.6       # ArcFace's m: the angle (radians) added to each photo's own whale
LEARNING_RATE = 2e-3   # Adam's, at the start; it decays to 0 along a cosine


class AngularMargin(layers.Layer):
    """ArcFace head: logits ``s cos(theta_j)`` for every whale j, with ``theta_y + m`` in
    place of ``theta_y`` for the photo's own whale y. Inputs: (unit embeddings, labels)."""

    def __init__(self, n_classes: int, scale: float = SCALE, margin: float = MARGIN,
                 **kwargs):
        super().__init__(**kwargs)
        self.n_classes, self.scale, self.margin = n_classes, scale, margin

    def build(self, input_shape):
        self.centres = self.add_weight(shape=(input_shape[0][-1], self.n_classes),
                                       initializer="glorot_uniform", name="centres")

    def call(self, inputs):
        embeddings, labels = inputs
        cosine = ops.matmul(embeddings, ops.normalize(self.centres, axis=0))
        cosine = ops.clip(cosine, -1.0 + 1e-6, 1.0 - 1e-6)
        with_margin = ops.cos(ops.arccos(cosine) + self.margin)
        own = ops.one_hot(ops.reshape(ops.cast(labels, "int32"), (-1,)), self.n_classes)
        return self.scale * ops.where(own > 0, with_margin, cosine)

    def get_config(self):
        return {**super().get_config(), "n_classes": self.n_classes, "scale": self.scale,
                "margin": self.margin}


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


def feature_embedding(n_features: int = 2048, size: int = EMBEDDING_SIZE, seed: int = 0,
                      dropout: float = 0.6) -> keras.Model:
    """An embedding of frozen backbone features (ResNet50V2's, computed once): a dense
    layer, dropout and a projection to ``size`` numbers on the unit sphere."""
    return keras.Sequential([
        keras.Input((n_features,)),
        layers.Dense(512, activation="relu"),
        layers.Dropout(dropout, seed=seed),
        layers.Dense(size),
        layers.UnitNormalization(),
    ], name="feature_embedding")


def arcface_model(embedding: keras.Model, n_classes: int, scale: float = SCALE,
                  margin: float = MARGIN, learning_rate=LEARNING_RATE) -> keras.Model:
    """The embedding under an ``AngularMargin`` head: (photos, labels) -> logits."""
    photos = keras.Input(embedding.input_shape[1:], dtype=embedding.inputs[0].dtype)
    labels = keras.Input((), dtype="int32")
    logits = AngularMargin(n_classes, scale, margin)([embedding(photos), labels])
    model = keras.Model([photos, labels], logits, name="arcface")
    model.compile(optimizer=keras.optimizers.Adam(learning_rate),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    return model


def fit_arcface(embedding: keras.Model, images, labels, epochs: int, batch_size: int,
                seed: int = 0, verbose: int = 2, margin: float = MARGIN):
    """Train ``embedding`` under an ArcFace head over the whales of ``labels`` (new_whale
    rows left out by the caller); the photos are shuffled every epoch, and the learning
    rate decays along a cosine to 0 at the last step."""
    import tensorflow as tf

    from whale_utils import training

    classes = np.unique(labels)
    index = np.searchsorted(classes, labels).astype("int32")
    steps = epochs * int(np.ceil(len(index) / batch_size))
    schedule = keras.optimizers.schedules.CosineDecay(LEARNING_RATE, decay_steps=steps)
    model = arcface_model(embedding, len(classes), margin=margin, learning_rate=schedule)
    batches = (tf.data.Dataset.from_tensor_slices((images, index))
               .shuffle(len(index), seed=seed, reshuffle_each_iteration=True)
               .batch(batch_size).map(lambda x, y: ((x, y), y)).prefetch(2))
    return training.fit(model, train=batches, validation=None, epochs=epochs, verbose=verbose)


def arcface_loss_numpy(embeddings, centres, labels, scale: float = SCALE,
                       margin: float = MARGIN) -> float:
    """The ArcFace loss written out in NumPy, to check the layer against."""
    unit = centres / np.linalg.norm(centres, axis=0, keepdims=True)
    cosine = np.clip(embeddings @ unit, -1 + 1e-6, 1 - 1e-6)
    rows = np.arange(len(labels))
    logits = scale * cosine
    logits[rows, labels] = scale * np.cos(np.arccos(cosine[rows, labels]) + margin)
    logits -= logits.max(axis=1, keepdims=True)
    log_softmax = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    return float(-log_softmax[rows, labels].mean())


def embed(embedding: keras.Model, images, batch_size: int = 256) -> np.ndarray:
    """Unit embeddings of uint8 photos (or of their backbone features)."""
    return np.asarray(embedding.predict(images, batch_size=batch_size, verbose=0))


def whale_similarity(query, gallery, gallery_labels, n_classes: int) -> np.ndarray:
    """For each query photo and each whale: the cosine similarity of its nearest gallery
    photo of that whale (``-inf`` for a whale with no gallery photo)."""
    similarity = np.asarray(query) @ np.asarray(gallery).T
    best = np.full((len(similarity), n_classes), -np.inf, dtype=np.float32)
    gallery_labels = np.asarray(gallery_labels)
    for whale in np.unique(gallery_labels):
        best[:, whale] = similarity[:, gallery_labels == whale].max(axis=1)
    return best


def retrieval_scores(similarity, new_whale: int, threshold: float) -> np.ndarray:
    """Scores that rank the known whales by similarity and put `new_whale` where the
    similarity falls below ``threshold``."""
    scores = np.array(similarity, dtype=np.float32, copy=True)
    scores[:, new_whale] = threshold
    return scores


THRESHOLDS = np.round(np.arange(0.0, 1.0001, 0.02), 2)
TUNING_SHARE = 0.2   # of the training rows, held out of the embedding's training


def tuning_rows(n_rows: int, share: float = TUNING_SHARE, seed: int = 0):
    """Training row indices split in two: those the embedding learns from, and a held-out
    share on which the `new_whale` threshold is tuned (never the validation rows)."""
    order = np.random.default_rng(seed).permutation(n_rows)
    cut = int(round(n_rows * (1 - share)))
    return np.sort(order[:cut]), np.sort(order[cut:])


def threshold_curve(query, query_labels, gallery, gallery_labels, new_whale: int,
                    n_classes: int, thresholds=THRESHOLDS) -> dict[float, float]:
    """MAP@5 of the held-out training rows (``query``) against the `new_whale` threshold,
    their whales looked up among the ``gallery`` photos the embedding learned from."""
    similarity = whale_similarity(query, gallery, gallery_labels, n_classes)
    return {float(t): metrics.map_at_5(query_labels, retrieval_scores(similarity, new_whale, t))
            for t in thresholds}


def choose_threshold(curve: dict[float, float], fixed: float | None = None) -> float:
    """The threshold of the curve's highest MAP@5 (the lowest, on a tie); or, given a
    ``fixed`` one, the curve's threshold nearest to it."""
    if fixed is not None:
        return min(curve, key=lambda t: abs(t - fixed))
    return max(curve, key=lambda t: (curve[t], -t))
