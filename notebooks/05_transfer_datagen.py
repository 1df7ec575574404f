# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,active,-all
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
#     model: ImageNet backbone + data generation
# ---

# %% [markdown]
# # 05 · Transfer learning with data generation
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/05_transfer_datagen.ipynb)
# [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/05_transfer_datagen.ipynb)
#
# Notebook 04 with the augmentation of notebook 03. Augmented photos change at every
# epoch, so their backbone features cannot be computed once: here every epoch runs
# the frozen backbone forward on every training photo. That is why the student's
# version of this notebook (ResNet50V2) took 20-25 minutes for 10 epochs. The
# validation photos are not augmented, so their features are computed once, as in
# notebook 04.

# %% [markdown]
# **Parameters.** The values below are laptop-sized and read the synthetic stand-in.
# `DATA_DIR = "kaggle"` reads the competition's real photos instead: attached in a Kaggle
# Notebook, downloaded once with your Kaggle token in Colab or at home (see
# `data/README.md`). `PROFILE = "seed"` is the student's own setting on those photos in one
# switch: the first 10,000 rows at 100 px for 10 epochs (and, from notebook 04 on,
# ResNet50V2 as the backbone); it replaces every value below. A GPU is advised for it.

# %% tags=["parameters"]
PROFILE = None
DATA_DIR = "../data/synthetic/default"
N_ROWS = 3000
IMG_SIZE = 48
EPOCHS = 15
BATCH_SIZE = 32
VALIDATION_SPLIT = 0.3
SPLIT = "last-rows"
SEED = 0
OUTPUT_DIR = "../outputs/default"
VERBOSE = 2
BACKBONE = "efficientnet-lite0"
BACKBONE_SIZE = 96
BACKBONE_WEIGHTS = "auto"
ROTATION = 10
ZOOM = 0.1
SHIFT = 0.1

# %% [markdown]
# ## Setup
#
# As in notebook 01, `session.start` checks the parameters cell, writes the synthetic data
# if it is missing, prints the library versions and seeds every generator.
# `augment` brings notebook 03's augmentation layer and its ranges
# (`ROTATION`, `ZOOM`, `SHIFT`, the student's).
# The Keras backend is chosen as in notebook 01: `import os;
# os.environ["KERAS_BACKEND"] = "jax"` (or `"torch"`) first in the next code cell, before
# Keras is imported; it prints the backend it runs on.

# %% active="ipynb"
# # Colab or Kaggle: install the series' package (nothing happens where it is installed)
# import importlib.util, subprocess, sys  # noqa: E401
# if not importlib.util.find_spec("whale_utils"):
#     if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/whale-notebooks/whale-notebooks@v1.1.0"]).returncode:  # noqa: E501
#         raise SystemExit("pip could not install the series' package (its message is above). In a Kaggle Notebook that is most often the internet being off: Settings, Internet on (it needs a verified phone number), then run this cell again. The competition's data needs no internet.")  # noqa: E501

# %%
import keras

from whale_utils import augment, backbones, exercises, metrics, plots, session, training
from whale_utils.lessons import compile_like_the_student, student_reduce_lr, transfer_head

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The rows of notebook 01; this time the training photos are augmented before the
# backbone sees them, by notebook 03's augmentation layer.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()

# %% [markdown]
# ## Model
#
# Notebook 03 and notebook 04 composed: 04's frozen backbone and head (`transfer_head`,
# exported from 04) behind 03's augmentation layer. What changes is how it trains: end
# to end on augmented photos, the backbone still frozen.

# %% tags=["nbval-check-output"]
weights = backbones.choose_weights(BACKBONE, BACKBONE_WEIGHTS)
backbone = backbones.feature_extractor(weights, IMG_SIZE, BACKBONE_SIZE)
head = transfer_head(whales.n_classes, n_features=backbone.output_shape[-1], seed=SEED)
augmentation = augment.student_augmentation(rotation=ROTATION, zoom=ZOOM, shift=SHIFT,
                                            seed=SEED)
photos = keras.Input((IMG_SIZE, IMG_SIZE, 3), dtype="uint8")
model = keras.Model(photos, head(backbone(augmentation(photos))), name="transfer_model")
print(weights.note)

# %% [markdown]
# ## Train
#
# The whole model (augmentation, frozen backbone and head) on the training photos; the
# backbone runs in inference mode, its batch normalisation frozen.
# Validation needs no backbone pass per epoch: `FeatureValidation` scores the head on
# the validation photos' features, which gives the whole model's validation loss and
# metrics (a test checks it) for the `ReduceLROnPlateau` that watches them.

# %%
val_features = backbones.backbone_features(backbone, whales.x_val)
compile_like_the_student(model)
validation = training.FeatureValidation(head, val_features, whales.y_val)
history = training.fit(model, train=(whales.x_train, whales.y_train), validation=None,
                       epochs=EPOCHS, batch_size=BATCH_SIZE,
                       callbacks=[validation, student_reduce_lr("val_loss")], verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# Augmentation on the transfer model, against the same yardsticks; the report sets it
# beside 04.

# %%
result = metrics.evaluate(training.predict(head, val_features), whales)
plots.plot_history(history, run.title, baseline_accuracy=result["baseline"]["accuracy"]);

# %%
run.show(result, history, backbone_weights=weights.source)

# %%
run.save_metrics(result, history, whales=whales, model=model, backbone_weights=weights.source)

# %% [markdown]
# ## Takeaways
#
# - Augmentation costs a full backbone pass per training photo and epoch, where 04
#   computes each photo's features once: compare the training times in the report.
# - What it buys is measured against the same all-`new_whale` line and ceiling as
#   before, and against 04 on the same rows in the report's step by step.
#
# Next: stop training when validation stops improving (06).

# %% [markdown]
# ## Exercises
#
# Three tasks on this notebook's data and run. Replace the `None` in each answer cell,
# run it, then run the check below it: the check recomputes what it needs from this run
# and answers with a verdict and a hint, never with the solution. An exercise left at
# `None` says that it waits, and the notebook runs on. The solutions, kept apart (in the
# book, behind *show the solution*):
# [`notebooks/solutions/05_transfer_datagen.py`](https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/solutions/05_transfer_datagen.py)
#
# ### Exercise 5.1 · compute: the backbone's work
#
# Why is this notebook so much slower than 04? Compute how many training photos went
# through the backbone during this run's training (`history` says how many epochs ran).

# %% tags=["answer-1"]
backbone_photos = None

# %%
exercises.backbone_passes(backbone_photos, history, whales)

# %% [markdown]
# ### Exercise 5.2 · change and predict: does the backbone see through the augmentation?
#
# For 32 training photos the check compares the ImageNet features of each augmented
# photo with those of every original. `trial_augmentation` below is this notebook's;
# change its rotation to 30 degrees, but first say whether each augmented photo's
# features will mostly be nearest to its `"own"` original or to an `"other"` photo.

# %% tags=["answer-2"]
expect = None
trial_augmentation = augment.student_augmentation(rotation=ROTATION, zoom=ZOOM, shift=SHIFT,
                                                  seed=SEED)

# %%
exercises.augmented_features(expect, backbone, trial_augmentation, whales.x_train[:32])

# %% [markdown]
# ### Exercise 5.3 · build: validation from cached features
#
# With augmentation the backbone runs on every training photo at every epoch, but the
# validation photos are never augmented: their features can be computed once. Write
# `HeadValidation(head, features, labels)`, a `keras.callbacks.Callback` that at each
# epoch's end puts the head's accuracy on `features` into the epoch's `logs` as
# `val_accuracy` (this notebook's `training.FeatureValidation` does that).

# %% tags=["answer-3"]
HeadValidation = None

# %%
exercises.head_validation(HeadValidation)
