# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
# ---

# %% [markdown]
# # Solutions · 02 · Dropout against overfitting
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/02_dropout.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
gap = history.history["accuracy"][-1] - history.history["val_accuracy"][-1]

# %% tags=["answer-2"]
expect = "different"
TRAINING = True
first = model(whales.x_val[:16], training=TRAINING)
second = model(whales.x_val[:16], training=TRAINING)

# %% tags=["answer-3"]
import keras


class GapLogger(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.gaps = []

    def on_epoch_end(self, epoch, logs=None):
        self.gaps.append(logs["accuracy"] - logs["val_accuracy"])
