"""Seeds, TensorFlow's threads, a fit helper that times itself, and validation on cached
features."""

from __future__ import annotations

import os
import time

import keras
import tensorflow as tf

from whale_utils.lessons import compile_like_the_student


def set_seed(seed: int) -> None:
    """Seed Python, NumPy, Keras, its backend and TensorFlow (``tf.data`` on every backend),
    and make their ops deterministic (JAX's are on the CPU)."""
    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()
    if keras.backend.backend() == "torch":
        import torch

        torch.use_deterministic_algorithms(True)


def tensorflow_threads() -> int:
    """TensorFlow's intra-op threads in this process: the runner's share
    (``TF_NUM_INTRAOP_THREADS``) or every core. Results can differ in the last digits
    between thread counts, so the metrics say which one gave them."""
    return int(os.environ.get("TF_NUM_INTRAOP_THREADS") or os.cpu_count() or 1)


class FeatureValidation(keras.callbacks.Callback):
    """Validation metrics of a frozen-backbone model from its head on cached features.

    Validation photos are not augmented and the backbone is frozen, so the whole model's
    validation loss and metrics equal its head's on the photos' backbone features,
    computed once: no backbone pass per epoch. Adds ``val_*`` to the epoch's logs; put it
    before any callback that reads them (``ReduceLROnPlateau``, ``EarlyStopping``).
    """

    def __init__(self, head: keras.Model, features, labels, batch_size: int = 256):
        super().__init__()
        self.head = head if head.compiled else compile_like_the_student(head)  # for its loss and metrics
        self.features, self.labels, self.batch_size = features, labels, batch_size

    def on_epoch_end(self, epoch, logs=None):
        scores = self.head.evaluate(self.features, self.labels, batch_size=self.batch_size,
                                    verbose=0, return_dict=True)
        logs.update({f"val_{name}": value for name, value in scores.items()})


def fit(model: keras.Model, train, validation, epochs: int, batch_size: int | None = None,
        callbacks=(), verbose: int = 2) -> keras.callbacks.History:
    """Train on ``train`` ((x, y) or a tf.data.Dataset); the history gets ``seconds``."""
    x, y = train if isinstance(train, tuple) else (train, None)
    start = time.perf_counter()
    history = model.fit(x, y, batch_size=batch_size if y is not None else None,
                        epochs=epochs, validation_data=validation,
                        callbacks=list(callbacks), verbose=verbose,
                        shuffle=y is not None)   # a tf.data.Dataset shuffles itself
    history.seconds = time.perf_counter() - start
    return history


def predict(model: keras.Model, x, batch_size: int = 256):
    """Class probabilities for ``x``."""
    return model.predict(x, batch_size=batch_size, verbose=0)
