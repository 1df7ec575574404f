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
# # Solutions · 05 · Transfer learning with data generation
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/05_transfer_datagen.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
backbone_photos = len(history.history["loss"]) * len(whales.y_train)

# %% tags=["answer-2"]
expect = "own"
trial_augmentation = augment.student_augmentation(rotation=30, zoom=ZOOM, shift=SHIFT,
                                                  seed=SEED)

# %% tags=["answer-3"]
import numpy as np


class HeadValidation(keras.callbacks.Callback):
    def __init__(self, head, features, labels):
        super().__init__()
        self.head, self.features, self.labels = head, features, labels

    def on_epoch_end(self, epoch, logs=None):
        predicted = self.head.predict(self.features, verbose=0).argmax(axis=1)
        logs["val_accuracy"] = float(np.mean(predicted == self.labels))
