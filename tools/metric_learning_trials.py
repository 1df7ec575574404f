"""Notebook 08's embedding under other settings, scored as the notebook scores it.

    .venv/bin/python tools/metric_learning_trials.py [epochs=20] [margin=0.5] [dropout=0.5]
        [dim=128] [trunk=backbone|cnn|gap] [rate=0 (the trunk's own)] [augment=1]
        [profile=default] [seed=0]

Trains the ArcFace embedding on the rows notebook 08 trains on (the profile's synthetic
data, N_ROWS 3000 at 48 px, batch 64; the backbone sees them at 96 px), with gentle
augmentation unless augment=0, then prints MAP@5 on the held-out training rows
(with the `new_whale` threshold tuned there) and on the validation rows, for the nearest
photo and the whale's mean embedding, with and without shift averaging; every training
photo is in the gallery. A setting is chosen on the held-out rows, never on validation.
`seed` changes only the training's randomness (initial weights, shuffling, augmentation,
dropout), not the rows: how far a score moves with it is the noise a setting must beat.
docs/metric-learning.md lists what these trials measured.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import keras
from keras import layers

from whale_utils import backbones, data, embedding, metrics, training
from whale_utils.augment import StudentAugmentation

ROOT = Path(__file__).resolve().parents[1]
DEFAULTS = {"epochs": 20, "margin": 0.5, "dropout": 0.5, "dim": 128, "trunk": "backbone",
            "rate": 0.0, "augment": 1, "profile": "default", "seed": 0}


def gap_embedding(img_size: int, size: int, dropout: float, width: int = 32) -> keras.Model:
    """The CNN trunk with a fourth convolution and global average pooling in place of the
    flattening (where a mark sits on the fluke is lost)."""
    def block(filters):
        return [layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.Conv2D(filters, 3, padding="same", activation="relu"),
                layers.BatchNormalization(), layers.MaxPooling2D()]
    return keras.Sequential([
        keras.Input((img_size, img_size, 3), dtype="uint8"), layers.Rescaling(1 / 255),
        *block(width), *block(2 * width), *block(4 * width),
        layers.Conv2D(8 * width, 3, padding="same", activation="relu"),
        layers.GlobalAveragePooling2D(), layers.Dropout(dropout, seed=0),
        layers.Dense(size), layers.UnitNormalization()])


def trial(epochs: int, margin: float, dropout: float, dim: int, trunk: str, rate: float,
          augment: int, profile: str, seed: int, img_size: int = 48) -> dict:
    training.set_seed(seed)
    whales = data.load_dataset(ROOT / "data" / "synthetic" / profile, n_rows=3000,
                               img_size=img_size, validation_split=0.3, split="last-rows", seed=0)
    fit_rows, tuning_rows = embedding.tuning_rows(len(whales.y_train), seed=0)
    learn = fit_rows[whales.y_train[fit_rows] != whales.new_whale_label]
    train_inputs, val_inputs = whales.train_val(whales.images)
    if trunk == "backbone":
        weights = backbones.choose_weights("efficientnet-lite0", "auto")
        net = embedding.backbone_embedding(weights, img_size, 96, size=dim, seed=seed,
                                           dropout=dropout)
    elif trunk == "gap":
        net = gap_embedding(img_size, dim, dropout)
    else:
        net = embedding.cnn_embedding(img_size, size=dim, seed=seed, dropout=dropout)
    start = time.perf_counter()
    rate = rate or (embedding.FINE_TUNING_RATE if trunk == "backbone" else embedding.LEARNING_RATE)
    gentle = StudentAugmentation(**embedding.GENTLE_AUGMENTATION, seed=seed) if augment else None
    embedding.fit_arcface(net, train_inputs[learn], whales.y_train[learn], epochs=epochs,
                          batch_size=64, margin=margin, learning_rate=rate,
                          augmentation=gentle, seed=seed, verbose=0)
    seconds = time.perf_counter() - start
    known = (whales.y_train != whales.new_whale_label).nonzero()[0]
    scores = {}
    for shift in (0, max(1, img_size // 24)):
        train_vectors = embedding.embed_shifted(net, train_inputs, shift) if shift else \
            embedding.embed(net, train_inputs)
        val_vectors = embedding.embed_shifted(net, val_inputs, shift) if shift else \
            embedding.embed(net, val_inputs)
        for per_whale in ("nearest", "mean"):
            held = embedding.whale_similarity(
                train_vectors[tuning_rows], train_vectors[known], whales.y_train[known],
                whales.n_classes, per_whale=per_whale, itself=embedding.positions(tuning_rows, known))
            curve = embedding.threshold_curve(held, whales.y_train[tuning_rows], whales.new_whale_label)
            threshold = embedding.choose_threshold(curve)
            val = embedding.whale_similarity(val_vectors, train_vectors[known], whales.y_train[known],
                                             whales.n_classes, per_whale=per_whale)
            result = metrics.evaluate_labels(
                embedding.retrieval_scores(val, whales.new_whale_label, threshold),
                whales.y_val, whales.y_train, whales.new_whale_label)
            scores[f"{per_whale}{', shifts' if shift else ''}"] = {
                "held-out": round(curve[threshold], 3), "validation": round(result["model"]["map5"], 3),
                "known": round(result["model_known"]["map5"], 3)}
    return {"train_seconds": round(seconds), **scores}


def main(argv: list[str]) -> None:
    settings = dict(DEFAULTS)
    for pair in argv:
        name, _, value = pair.partition("=")
        if name not in DEFAULTS:
            raise SystemExit(f"error: unknown setting {name!r}; choose among {sorted(DEFAULTS)}")
        settings[name] = type(DEFAULTS[name])(value)
    print(json.dumps({"settings": settings, **trial(**settings)}, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
