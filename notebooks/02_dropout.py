# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,whale,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
#   whale:
#     builds_on: 01_overfit_baseline
#     changes: '`Dropout(0.3)` around the dense block'
#     model: CNN + dropout
# ---

# %% [markdown]
# # 02 · Dropout against overfitting
#
# Notebook 01 is built to memorise its training photos. The usual first cure is
# dropout: during training, a random share of a layer's outputs is set to zero, so the
# network cannot lean on any single unit. The student added `Dropout(0.3)` before
# and after the final 256-unit dense block, and switched `ReduceLROnPlateau` to watch
# the *validation* loss, which is the right signal. Does the gap close, and does validation accuracy
# rise above the all-`new_whale` baseline?

# %% tags=["parameters"]
DATA_DIR = "../data/synthetic/default"
N_ROWS = 3000
IMG_SIZE = 48
EPOCHS = 20
BATCH_SIZE = 32
VALIDATION_SPLIT = 0.3
SPLIT = "seed"
SEED = 0
OUTPUT_DIR = "../outputs/default"
VERBOSE = 2

# %% [markdown]
# ## Setup
#
# As in notebook 01: the shared package, the parameters checked, the seeds set.

# %%
import os
import sys

if "google.colab" in sys.modules and not os.path.exists(DATA_DIR):
    # In Colab: install whale_utils from the repository, then write the synthetic data.
    import subprocess

    for args in (["pip", "install", "-q", "git+https://github.com/whale-notebooks/whale-notebooks"],
                 ["whale_utils.synthetic", "--out", DATA_DIR, "--images", "4500"]):
        subprocess.run([sys.executable, "-m", *args], check=True)

# %%
import whale_utils  # noqa: F401  (quiets TensorFlow's log before it loads)
from IPython.display import Markdown

from whale_utils import data, metrics, models, narrate, params, plots, record, training

record.print_versions()
PARAMS = params.check(globals())
training.set_seed(SEED)

# %% [markdown]
# ## Data
#
# The same rows, images and split as in notebook 01.

# %% tags=["nbval-check-output"]
whales = data.load_dataset(DATA_DIR, n_rows=N_ROWS, img_size=IMG_SIZE,
                           validation_split=VALIDATION_SPLIT, split=SPLIT, seed=SEED)
print(whales.describe())

# %% [markdown]
# ## Model
#
# The CNN of notebook 01 with `Dropout(0.3)` around the dense block.

# %% tags=["nbval-check-output"]
model = training.compile_model(
    models.baseline_cnn(IMG_SIZE, whales.n_classes, dense_dropout=0.3, seed=SEED))
models.print_summary(model)

# %% [markdown]
# ## Train
#
# As in notebook 01, with `ReduceLROnPlateau` now watching the validation loss.

# %%
history = training.fit(model, train=(whales.x_train, whales.y_train),
                       validation=(whales.x_val, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE, callbacks=[training.reduce_lr("val_loss")],
                       verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# The yardsticks of notebook 01 on the same validation rows: the all-`new_whale` baseline,
# the pixel neighbour and the ceiling.

# %%
result = metrics.evaluate(training.predict(model, whales.x_val), whales)
print(metrics.format_results(result))

# %%
plots.plot_history(history, "02 · dropout",
                   baseline_accuracy=result["baseline"]["accuracy"]);

# %%
plots.plot_baseline_comparison(result, "02 · dropout");

# %% [markdown]
# The same yardsticks as in notebook 01, on the same rows; the sentences below are
# computed from this run's numbers (paired 95 % intervals).

# %%
train_accuracy = metrics.last_epoch(history, "accuracy")
Markdown(narrate.what_this_run_shows(result, train_accuracy=train_accuracy,
                                     notebook="02_dropout"))

# %%
saved = record.save_metrics(OUTPUT_DIR, "02_dropout", result, history,
                            params={**PARAMS, **whales.used_params()},
                            extra={"parameters": models.count_params(model)})
print(f"metrics written to {saved}")

# %% [markdown]
# ## Takeaways
#
# - Dropout switches off random units at every step, so memorising single photos
#   gets harder: compare the training accuracy above with notebook 01's.
# - Regularisation cannot create information that is not in the training rows:
#   most validation whales have no photo, or one, in training, and `new_whale` is
#   38 % of the rows.
# - Compare MAP@5 with the all-`new_whale` line, not with notebook 01 alone; the
#   report (`make report`) compares 02 with 01 on the same rows, with an interval.
#
# Next: more (augmented) photos of the same whales (03).
