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
# # Solutions · 03 · Dropout and data generation
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/03_dropout_datagen.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
known = whales.y_train[whales.y_train != whales.new_whale_label]
photos_per_whale = len(known) / len(set(known))

# %% tags=["answer-2"]
expect = "larger"
stronger = augment.student_augmentation(rotation=90, zoom=ZOOM, shift=SHIFT, seed=SEED)

# %% tags=["answer-3"]
from keras import layers

my_augmentation = keras.Sequential([layers.RandomFlip("horizontal", seed=SEED),
                                    layers.RandomContrast(0.2, seed=SEED)])
