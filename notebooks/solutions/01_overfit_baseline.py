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
# # Solutions · 01 · An overfit baseline CNN
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/01_overfit_baseline.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
share = float((whales.y_val == whales.new_whale_label).mean())

# %% tags=["answer-2"]
def average_precision(true_id, ranked_ids):
    for rank, guess in enumerate(ranked_ids[:5], start=1):
        if guess == true_id:
            return 1 / rank
    return 0.0

# %% tags=["answer-3"]
expect = "higher"
other = data.load_dataset(DATA_DIR, n_rows=N_ROWS, img_size=IMG_SIZE,
                          validation_split=VALIDATION_SPLIT, split="known", seed=SEED)
