# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     notebook_metadata_filter: kernelspec,-jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
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
BACKBONE_WEIGHTS = "none"

# %% [markdown]
# ## Setup

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
from whale_utils import augment, data, metrics, models, plots, report, training

report.print_versions()
training.set_seed(SEED)

# %% [markdown]
# ## Data
#
# The same rows, images and split as in notebook 01.

# %% tags=["nbval-check-output"]
whales = data.load_dataset(DATA_DIR, N_ROWS, IMG_SIZE, VALIDATION_SPLIT, SPLIT, SEED)
print(whales.describe())

# %% [markdown]
# ## Model
#
# ResNet50V2 without its classification top, average-pooled to 2048 features, frozen;
# on top, the student's head: batch normalisation, a 256-unit dense layer, dropout,
# batch normalisation, dropout and a softmax over every Id. The backbone gets its own
# preprocessing as its first layer (pixels scaled to [-1, 1]).

# %%
print(models.weights_note(BACKBONE_WEIGHTS))
backbone = models.resnet_backbone(IMG_SIZE, BACKBONE_WEIGHTS)
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
history = training.fit(model, train_batches, None, EPOCHS, None,
                       [validation, training.reduce_lr("val_loss")], VERBOSE)

# %% [markdown]
# ## Evaluate

# %%
plots.plot_history(history, "05 · ResNet50V2 + data generation");

# %%
result = metrics.evaluate(training.predict(head, f_val), whales.y_val, whales.y_train,
                          whales.new_whale_label)
print(metrics.format_results(result))
plots.plot_baseline_comparison(result, "05 · ResNet50V2 + data generation");

# %%
saved = report.save_metrics(OUTPUT_DIR, "05_transfer_datagen", result, history,
                            params=dict(N_ROWS=N_ROWS, IMG_SIZE=IMG_SIZE, EPOCHS=EPOCHS,
                                        SPLIT=SPLIT, SEED=SEED, DATA=whales.source,
                                        BACKBONE_WEIGHTS=BACKBONE_WEIGHTS),
                            extra={"parameters": models.count_params(model)})
print(f"metrics written to {saved}")

# %% [markdown]
# ## Takeaways
#
# - Augmentation costs a full backbone pass per training photo and epoch: by far the most
#   expensive notebook of the series.
# - What it buys is measured against the same all-`new_whale` line and ceiling as
#   before; with few photos per whale, the ceiling, not the model, limits the score.
#
# Next: stop training when validation stops improving (06).
