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
# # Solutions · 04 · Transfer learning with a frozen ImageNet backbone
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/04_transfer_learning.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
import numpy as np

n_trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)

# %% tags=["answer-2"]
expect = "moved"
trial = backbones.feature_extractor(weights, IMG_SIZE, BACKBONE_SIZE)
trial.layers[-1].trainable = True
before = trial.get_weights()
trial_head = transfer_head(whales.n_classes, n_features=trial.output_shape[-1], seed=SEED)
trial_model = compile_like_the_student(transfer_model(trial, trial_head))
trial_model.fit(whales.x_train[:32], whales.y_train[:32], batch_size=32, epochs=1, verbose=0);

# %% tags=["answer-3"]
def linear_head(n_classes, n_features):
    return keras.Sequential([keras.Input((n_features,)),
                             layers.Dense(n_classes, activation="softmax")])
