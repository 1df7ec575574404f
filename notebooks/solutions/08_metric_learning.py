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
# # Solutions · 08 · Metric learning: an embedding, nearest whales, and `new_whale` as a threshold
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/08_metric_learning.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
nearest = whales.y_train[np.argmax(val_embeddings @ train_embeddings.T, axis=1)]
known = np.isin(whales.y_val, whales.y_train) & (whales.y_val != whales.new_whale_label)
nearest_share = float(np.mean(nearest[known] == whales.y_val[known]))

# %% tags=["answer-2"]
expect = "lower"
threshold = -1.0
trial_map5 = metrics.map_at_5(whales.y_val,
                              retrieval_scores(similarity, whales.new_whale_label, threshold))
print(f"validation MAP@5 with the new_whale threshold at {threshold:.2f}: {trial_map5:.3f}")

# %% tags=["answer-3"]
def cosine_similarity(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return a @ b.T
