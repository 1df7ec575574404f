"""The student's models: a small CNN, and a frozen ImageNet backbone with a dense head.

Every model takes uint8 images and rescales them itself: the CNN divides by 255, a
backbone (``backbones``) carries its own preprocessing as its first layer.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import keras
from keras import layers

from whale_utils import backbones
from whale_utils.backbones import BackboneWeights

FEATURES = 1280  # EfficientNet-Lite0's pooled output (ResNet50V2's: 2048)


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


def frozen_backbone_with_head(img_size: int, n_classes: int, backbone: str = "efficientnet-lite0",
                              backbone_weights: str = "auto", backbone_size: int | None = None,
                              seed: int = 0, augmentation: layers.Layer | None = None
                              ) -> Transfer:
    """The transfer model of notebooks 04-07: the weights chosen (``backbones.choose_weights``),
    the frozen backbone seeing the photos at ``backbone_size``, the student's head, both
    joined (behind ``augmentation``, when given)."""
    weights = backbones.choose_weights(backbone, backbone_weights)
    extractor = backbones.feature_extractor(weights, img_size, backbone_size)
    head = transfer_head(n_classes, seed=seed, n_features=extractor.output_shape[-1])
    return Transfer(weights, extractor, head, transfer_model(extractor, head, augmentation))


def count_params(model: keras.Model) -> dict[str, int]:
    """Trainable and frozen parameter counts."""
    def total(weights):
        return sum(int(math.prod(w.shape)) for w in weights)
    return {"trainable": total(model.trainable_weights),
            "frozen": total(model.non_trainable_weights)}


def print_summary(model: keras.Model) -> None:
    """Keras' layer table as plain text (no colour codes), then the parameter counts."""
    model.summary(print_fn=lambda line, line_break=True: print(line))
