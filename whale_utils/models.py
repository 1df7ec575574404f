"""What the notebooks print about a model: its layer table and parameter counts. The
models themselves are written in the notebooks that teach them (``whale_utils.lessons``).
"""

from __future__ import annotations

import math

import keras


def count_params(model: keras.Model) -> dict[str, int]:
    """Trainable and frozen parameter counts."""
    def total(weights):
        return sum(int(math.prod(w.shape)) for w in weights)
    return {"trainable": total(model.trainable_weights),
            "frozen": total(model.non_trainable_weights)}


def print_summary(model: keras.Model) -> None:
    """Keras' layer table as plain text (no colour codes), then the parameter counts."""
    model.summary(print_fn=lambda line, line_break=True: print(line))
