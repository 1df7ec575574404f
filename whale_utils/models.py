"""The student's models: a small CNN and a frozen ResNet50V2 with a dense head.

Every model takes uint8 images and rescales them itself: the CNN divides by 255,
ResNet50V2 gets its own ``preprocess_input`` (scaling to [-1, 1]) as its first layer.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

import keras
from keras import layers

RESNET_WEIGHTS_FILE = "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
                      + RESNET_WEIGHTS_FILE)
PROBE_SECONDS = 3.0  # "auto" waits this long for the download server, then goes without
FEATURES = 2048  # ResNet50V2's pooled output


def baseline_cnn(img_size: int, n_classes: int, dense_dropout: float = 0.0,
                 seed: int = 0, augmentation: layers.Layer | None = None) -> keras.Model:
    """The student's CNN; ``dense_dropout`` > 0 wraps the final dense block (notebook 02);
    an ``augmentation`` layer goes first (notebook 03: active in training only)."""
    def conv_pair(filters):
        return [layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.MaxPooling2D()]

    def dense_dropout_layer(offset):
        return [layers.Dropout(dense_dropout, seed=seed + offset)] if dense_dropout else []

    return keras.Sequential([
        keras.Input((img_size, img_size, 3), dtype="uint8"),
        *([augmentation] if augmentation is not None else []),
        layers.Rescaling(1 / 255),
        *conv_pair(16), layers.BatchNormalization(),
        *conv_pair(32), layers.Dropout(0.25, seed=seed),
        *conv_pair(64), layers.BatchNormalization(),
        layers.Flatten(),
        *dense_dropout_layer(1),
        layers.Dense(256, activation="relu"),
        layers.BatchNormalization(),
        *dense_dropout_layer(2),
        layers.Dense(n_classes, activation="softmax"),
    ], name="dropout_cnn" if dense_dropout else "baseline_cnn")


@dataclass(frozen=True)
class BackboneWeights:
    """The backbone weights a run really uses, resolved from ``BACKBONE_WEIGHTS``.

    ``source`` is what the metrics record: ``imagenet-cached`` (Keras' cached file),
    ``imagenet-download``, ``imagenet``, ``file``, ``none`` (asked for) or ``none-offline``
    (``"auto"`` found neither the file nor the server). ``load`` is what
    ``resnet_backbone`` loads: ``"imagenet"``, a file path, or ``None`` for random weights.
    """

    requested: str
    source: str
    load: str | None

    @property
    def imagenet(self) -> bool:
        return self.load is not None

    @property
    def note(self) -> str:
        """What these weights mean for the results, in one sentence."""
        if self.imagenet:
            return (f"BACKBONE_WEIGHTS={self.requested!r} -> {self.source}: ResNet50V2 with "
                    "ImageNet weights, frozen.")
        why = ("neither Keras' cached weights file nor the download server could be reached"
               if self.source == "none-offline" else "random weights were asked for")
        return (f"BACKBONE_WEIGHTS={self.requested!r} -> {self.source} ({why}): ResNet50V2 has "
                "RANDOM weights here, so the transfer-learning results below say nothing about "
                "ImageNet features; they only show that the pipeline runs.")


def keras_cache_files() -> list[Path]:
    """Where Keras keeps the downloaded ResNet50V2 weights (``$KERAS_HOME/models/``)."""
    from keras.src.backend import config

    homes = [Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")), Path(config.keras_home())]
    return list(dict.fromkeys(home.expanduser() / "models" / RESNET_WEIGHTS_FILE for home in homes))


def download_server_answers(url: str | None = None, seconds: float = PROBE_SECONDS) -> bool:
    """Whether the weights' download server (or ``url``) answers within ``seconds``."""
    import urllib.request

    request = urllib.request.Request(url or RESNET_WEIGHTS_URL, method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=seconds).close()
        return True
    except Exception:  # noqa: BLE001 - offline, refused, timed out: all mean "no"
        return False


def choose_backbone_weights(weights: str = "auto") -> BackboneWeights:
    """Resolve ``BACKBONE_WEIGHTS``: ``"auto"``, ``"imagenet"``, ``"none"`` or a file path.

    ``"auto"`` uses ImageNet weights when Keras' cache holds the file, or when the
    download server answers within a few seconds (Keras then downloads it, with its
    progress bar); otherwise random weights, and the run says so.
    """
    choice = str(weights)
    if choice.lower() == "none":
        return BackboneWeights(choice, "none", None)
    if choice == "imagenet":
        return BackboneWeights(choice, "imagenet", "imagenet")
    if choice == "auto":
        cached = next((path for path in keras_cache_files() if path.is_file()), None)
        if cached is not None:
            return BackboneWeights(choice, "imagenet-cached", str(cached))
        if download_server_answers():
            return BackboneWeights(choice, "imagenet-download", "imagenet")
        return BackboneWeights(choice, "none-offline", None)
    path = Path(choice).expanduser()
    if not path.is_file():
        raise FileNotFoundError(
            f"BACKBONE_WEIGHTS={choice!r}: no such file. Give 'auto', 'imagenet', 'none', or "
            f"the path of {RESNET_WEIGHTS_FILE}")
    return BackboneWeights(choice, "file", str(path))


def resnet_backbone(img_size: int, weights: BackboneWeights | str = "imagenet") -> keras.Model:
    """Frozen ResNet50V2 (no top, average pooling) with its own preprocessing.

    ``weights`` is a ``BackboneWeights`` or what ``choose_backbone_weights`` takes
    (``"none"``: random weights, transfer learning then means nothing).
    """
    if not isinstance(weights, BackboneWeights):
        weights = choose_backbone_weights(weights)
    inputs = keras.Input((img_size, img_size, 3), dtype="uint8")
    x = layers.Rescaling(1 / 127.5, offset=-1.0, name="resnet_v2_preprocess")(inputs)
    resnet = _resnet50v2(img_size, weights)
    resnet.trainable = False
    outputs = resnet(x, training=False)
    return keras.Model(inputs, outputs, name="resnet50v2_backbone")


def _resnet50v2(img_size: int, weights: BackboneWeights) -> keras.Model:
    build = dict(include_top=False, pooling="avg", input_shape=(img_size, img_size, 3))
    if weights.load is None:
        return keras.applications.ResNet50V2(weights=None, **build)
    if weights.load == "imagenet":
        try:
            return keras.applications.ResNet50V2(weights="imagenet", **build)
        except Exception as err:  # noqa: BLE001 - any download failure means the same here
            raise RuntimeError(
                f"BACKBONE_WEIGHTS={weights.requested!r}: the ImageNet weights of ResNet50V2 "
                f"could not be downloaded ({type(err).__name__}). Offline, either put the file "
                f"{RESNET_WEIGHTS_FILE} at {keras_cache_files()[0]}, or pass its path as "
                "BACKBONE_WEIGHTS, or set BACKBONE_WEIGHTS='auto' or 'none' (random weights: "
                "the transfer-learning results then mean nothing).") from None
    model = keras.applications.ResNet50V2(weights=None, **build)
    try:
        model.load_weights(weights.load)
    except Exception as err:  # noqa: BLE001
        raise ValueError(
            f"BACKBONE_WEIGHTS={weights.requested!r}: could not load {weights.load} into "
            f"ResNet50V2 without its top ({err}); the file must be {RESNET_WEIGHTS_FILE} or a "
            "file saved from the same architecture. Delete or replace it.") from None
    return model


def student_preprocessing(images):
    """The student's input to ResNet50V2: caffe-style ``preprocess_input``, then / 255."""
    from keras.applications import imagenet_utils

    return imagenet_utils.preprocess_input(images.astype("float32"), mode="caffe") / 255.0


def resnet_v2_preprocessing(images):
    """What ResNet50V2 expects: ``resnet_v2.preprocess_input``, pixels scaled to [-1, 1]."""
    return keras.applications.resnet_v2.preprocess_input(images.astype("float32"))


def transfer_head(n_classes: int, dropout: float = 0.3, seed: int = 0,
                  n_features: int = FEATURES) -> keras.Model:
    """The student's head on pooled features: BN, Dense256, Dropout, BN, Dropout, softmax.

    Every random draw is seeded from ``seed`` (initializers included), so the head is the
    same whichever process or thread builds it (a Dask worker's other threads also draw
    from Python's global generator)."""
    return keras.Sequential([
        keras.Input((n_features,)),
        layers.BatchNormalization(),
        layers.Dense(256, activation="relu",
                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
        layers.Dropout(dropout, seed=seed),
        layers.BatchNormalization(),
        layers.Dropout(dropout, seed=seed + 1),
        layers.Dense(n_classes, activation="softmax",
                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2)),
    ], name="transfer_head")


def transfer_model(backbone: keras.Model, head: keras.Model,
                   augmentation: layers.Layer | None = None) -> keras.Model:
    """Backbone and head as one model that takes uint8 images; an ``augmentation`` layer
    in front (notebook 05: active in training only)."""
    inputs = keras.Input(backbone.input_shape[1:], dtype="uint8")
    x = augmentation(inputs) if augmentation is not None else inputs
    return keras.Model(inputs, head(backbone(x)), name="transfer_model")


class Transfer(NamedTuple):
    """Notebook 04's model in its parts."""

    weights: BackboneWeights
    backbone: keras.Model
    head: keras.Model
    model: keras.Model


def frozen_resnet_with_head(img_size: int, n_classes: int, backbone_weights: str = "auto",
                            seed: int = 0, augmentation: layers.Layer | None = None
                            ) -> Transfer:
    """The transfer model of notebooks 04-07: the backbone weights chosen (``"auto"``,
    ``"imagenet"`` or ``"none"``), the frozen ResNet50V2, the student's head, both joined
    (behind ``augmentation``, when given)."""
    weights = choose_backbone_weights(backbone_weights)
    backbone = resnet_backbone(img_size, weights)
    head = transfer_head(n_classes, seed=seed)
    return Transfer(weights, backbone, head, transfer_model(backbone, head, augmentation))


def backbone_features(backbone: keras.Model, images, batch_size: int = 64,
                      cache_dir: str | Path | None = "default"):
    """Pooled backbone features of uint8 images, float32 (N, 2048): computed once.

    Kept in the photo cache (``data.DEFAULT_CACHE``) under the hash of the images, the
    backbone's weights and TensorFlow's thread count (which can change the last digits),
    so that notebooks 04, 06 and 07 do not compute the same features again; ``None``
    computes them afresh.
    """
    import hashlib

    import numpy as np

    from whale_utils import data, record

    if cache_dir is None:
        return backbone.predict(images, batch_size=batch_size, verbose=0)
    key = hashlib.sha1(np.ascontiguousarray(images).tobytes())
    for weights in backbone.weights:
        key.update(np.ascontiguousarray(weights.numpy()).tobytes())
    key.update(f"{keras.__version__}:{record.tensorflow_threads()}".encode())
    folder = Path(data.DEFAULT_CACHE if cache_dir == "default" else cache_dir)
    cache = folder / f"features-{len(images)}-{key.hexdigest()[:16]}.npy"
    if cache.is_file():
        try:
            return np.load(cache)
        except (OSError, ValueError):
            cache.unlink(missing_ok=True)          # damaged: computed again below
    features = backbone.predict(images, batch_size=batch_size, verbose=0)
    folder.mkdir(parents=True, exist_ok=True)
    partial = cache.with_suffix(f".{os.getpid()}.partial")   # parallel notebooks: no torn file
    with partial.open("wb") as file:
        np.save(file, features)
    os.replace(partial, cache)
    return features


def count_params(model: keras.Model) -> dict[str, int]:
    """Trainable and frozen parameter counts."""
    def total(weights):
        return sum(int(math.prod(w.shape)) for w in weights)
    return {"trainable": total(model.trainable_weights),
            "frozen": total(model.non_trainable_weights)}


def print_summary(model: keras.Model) -> None:
    """Keras' layer table as plain text (no colour codes), then the parameter counts."""
    model.summary(print_fn=lambda line, line_break=True: print(line))
