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
# # Solutions · 07 · A grid search over optimizers
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/07_grid_search.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
n_models = len(search.cv_results_["params"]) * search.n_splits_ + 1    # + the refit

# %% tags=["answer-2"]
expect = "more"
trial = student_grid_search(["adam"], epochs=EPOCHS, batch_size=BATCH_SIZE, cv=4, seed=SEED)
gridsearch.fit(trial, train_features, whales.y_train)

# %% tags=["answer-3"]
grid = {"optimizer": ["adam", "sgd"], "batch_size": [16, 64]}
