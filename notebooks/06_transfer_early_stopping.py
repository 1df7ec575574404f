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
#     builds_on: 04_transfer_learning
#     changes: 04 + `EarlyStopping(min_delta=0.5)`
#     model: ResNet50V2 + early stopping
# ---

# %% [markdown]
# # 06 · Transfer learning with early stopping
#
# Notebook 04 plus the student's `EarlyStopping(monitor="val_loss", min_delta=0.5,
# patience=1)`: stop as soon as an epoch fails to lower the validation loss by at
# least 0.5. That threshold is large for a loss of a few units; watch how early it
# stops.

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
BACKBONE_WEIGHTS = "auto"

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
# The frozen ResNet50V2 and the student's head of notebook 04, described there; the
# backbone carries its own preprocessing as its first layer.

# %%
weights = models.choose_backbone_weights(BACKBONE_WEIGHTS)
print(weights.note)
backbone = models.resnet_backbone(IMG_SIZE, weights)
head = models.transfer_head(whales.n_classes, seed=SEED)
model = models.transfer_model(backbone, head)

# %% tags=["nbval-check-output"]
models.print_summary(model)

# %% [markdown]
# ## Features, once
#
# As in notebook 04 (which explains why): the frozen backbone's features of every photo,
# computed once, and the head trains on them.

# %%
features = models.backbone_features(backbone, whales.images)
f_train, f_val = whales.train_val(features)
print(f"features: {features.shape}, {features.dtype}")

# %% [markdown]
# ## Train
#
# The head of notebook 04 on the same cached features, with the student's
# `EarlyStopping` added to `ReduceLROnPlateau`.

# %%
training.compile_model(head)
history = training.fit(head, train=(f_train, whales.y_train), validation=(f_val, whales.y_val),
                       epochs=EPOCHS, batch_size=BATCH_SIZE,
                       callbacks=[training.reduce_lr("val_loss"), training.early_stopping()],
                       verbose=VERBOSE)
print(f"stopped after {len(history.history['loss'])} of {EPOCHS} epochs")

# %% [markdown]
# ## Evaluate
#
# The yardsticks of notebook 01 on the same validation rows: the all-`new_whale` baseline,
# the pixel neighbour and the ceiling.

# %%
result = metrics.evaluate(training.predict(head, f_val), whales)
print(metrics.format_results(result))

# %%
plots.plot_history(history, "06 · ResNet50V2 + early stopping",
                   baseline_accuracy=result["baseline"]["accuracy"]);

# %%
plots.plot_baseline_comparison(result, "06 · ResNet50V2 + early stopping");

# %% [markdown]
# The same yardsticks as in notebook 01, on the same rows; the sentences below are
# computed from this run's numbers (paired 95 % intervals).

# %%
train_accuracy = metrics.last_epoch(history, "accuracy")
Markdown(narrate.what_this_run_shows(result, train_accuracy=train_accuracy,
                                     notebook="06_transfer_early_stopping",
                                     backbone_weights=weights.source))

# %%
saved = record.save_metrics(OUTPUT_DIR, "06_transfer_early_stopping", result, history,
                            params={**PARAMS, **whales.used_params(),
                                    "BACKBONE_WEIGHTS": weights.source},
                            extra={"parameters": models.count_params(model)})
print(f"metrics written to {saved}")

# %% [markdown]
# ## Takeaways
#
# - Early stopping saves time when validation loss stalls. `min_delta=0.5` demands
#   that the validation loss fall by half a unit at every epoch, which cross-entropy
#   does only early on: the number of epochs this run trained is printed above.
# - A model stopped early is not a better identifier: judge it by MAP@5 against the
#   all-`new_whale` line.
#
# Next: a grid search over optimizers, and a number that looked too good (07).
