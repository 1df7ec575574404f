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
#     changes: 04 + the augmentation of 03
#     model: ResNet50V2 + data generation
# ---

# %% [markdown]
# # 05 · Transfer learning with data generation
#
# Notebook 04 with the augmentation of notebook 03. Augmented photos change at every
# epoch, so their backbone features cannot be computed once: here every epoch runs
# the frozen ResNet50V2 forward on every training photo. That is why the student's
# version of this notebook took 20-25 minutes for 10 epochs. The validation photos
# are not augmented, so their features are computed once, as in notebook 04.

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

from whale_utils import (augment, data, metrics, models, narrate, params, plots, record,
                         training)

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
# ## Train
#
# The whole model (frozen backbone and head) on augmented batches from the `tf.data`
# pipeline; the backbone runs in inference mode, its batch normalisation frozen.
# Validation needs no backbone pass per epoch: `FeatureValidation` scores the head on
# the validation photos' features, which gives the whole model's validation loss and
# metrics (a test checks it) for the `ReduceLROnPlateau` that watches them.

# %%
f_val = models.backbone_features(backbone, whales.x_val)
train_batches = augment.augmented_dataset(whales.x_train, whales.y_train, BATCH_SIZE, SEED)
training.compile_model(model)
validation = training.FeatureValidation(head, f_val, whales.y_val)
history = training.fit(model, train=train_batches, validation=None, epochs=EPOCHS,
                       callbacks=[validation, training.reduce_lr("val_loss")], verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# The yardsticks of notebook 01 on the same validation rows: the all-`new_whale` baseline,
# the pixel neighbour and the ceiling.

# %%
result = metrics.evaluate(training.predict(head, f_val), whales)
print(metrics.format_results(result))

# %%
plots.plot_history(history, "05 · ResNet50V2 + data generation",
                   baseline_accuracy=result["baseline"]["accuracy"]);

# %%
plots.plot_baseline_comparison(result, "05 · ResNet50V2 + data generation");

# %% [markdown]
# The same yardsticks as in notebook 01, on the same rows; the sentences below are
# computed from this run's numbers (paired 95 % intervals).

# %%
train_accuracy = metrics.last_epoch(history, "accuracy")
Markdown(narrate.what_this_run_shows(result, train_accuracy=train_accuracy,
                                     notebook="05_transfer_datagen",
                                     backbone_weights=weights.source))

# %%
saved = record.save_metrics(OUTPUT_DIR, "05_transfer_datagen", result, history,
                            params={**PARAMS, **whales.used_params(),
                                    "BACKBONE_WEIGHTS": weights.source},
                            extra={"parameters": models.count_params(model)})
print(f"metrics written to {saved}")

# %% [markdown]
# ## Takeaways
#
# - Augmentation costs a full backbone pass per training photo and epoch, where 04
#   computes each photo's features once: compare the training times in the report.
# - What it buys is measured against the same all-`new_whale` line and ceiling as
#   before, and against 04 on the same rows in the report's step by step.
#
# Next: stop training when validation stops improving (06).
