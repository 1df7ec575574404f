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
#     changes: 04 + `EarlyStopping(min_delta=0.5)`
#     model: ImageNet backbone + early stopping
# ---

# %% [markdown]
# # 06 · Transfer learning with early stopping
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/06_transfer_early_stopping.ipynb)
# [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/06_transfer_early_stopping.ipynb)
#
# Notebook 04 plus the student's `EarlyStopping(monitor="val_loss", min_delta=0.5,
# patience=1)`: stop as soon as an epoch fails to lower the validation loss by at
# least 0.5. That threshold is large for a loss of a few units; watch how early it
# stops.

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
MONITOR = "val_loss"
MIN_DELTA = 0.5
PATIENCE = 1

# %% [markdown]
# ## Setup
#
# As in notebook 01, `session.start` checks the parameters cell, writes the synthetic data
# if it is missing, prints the library versions and seeds every generator.
# The early-stopping callback is Keras' own; its settings are this notebook's own
# parameters (`MONITOR`, `MIN_DELTA`, `PATIENCE`), the student's.
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

from whale_utils import backbones, exercises, metrics, plots, session, training
from whale_utils.lessons import (
                                 compile_like_the_student,
                                 student_reduce_lr,
                                 transfer_head,
                                 transfer_model,
)

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The rows of notebook 01, and below the cached features of notebook 04.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()

# %% [markdown]
# ## What changes: the student's early stopping
#
# Keras' `EarlyStopping` callback with the student's numbers: training stops once the
# validation loss has not fallen by at least `MIN_DELTA` (0.5 by default, in units of
# cross-entropy) for `PATIENCE` epochs.

# %%
stop_early = keras.callbacks.EarlyStopping(monitor=MONITOR, min_delta=MIN_DELTA,
                                           patience=PATIENCE)

# %% [markdown]
# ## Model
#
# Notebook 04's frozen backbone and head (`transfer_head`, exported from 04), described
# and summarised there.

# %% tags=["nbval-check-output"]
weights = backbones.choose_weights(BACKBONE, BACKBONE_WEIGHTS)
backbone = backbones.feature_extractor(weights, IMG_SIZE, BACKBONE_SIZE)
head = transfer_head(whales.n_classes, n_features=backbone.output_shape[-1], seed=SEED)
model = transfer_model(backbone, head)
print(weights.note)

# %% [markdown]
# ## Features, once
#
# Notebook 04 explains why: the backbone is frozen, so each photo's features are
# computed once and the head trains on them.

# %%
features = backbones.backbone_features(backbone, whales.images)
train_features, val_features = whales.train_val(features)

# %% [markdown]
# ## Train
#
# The head of notebook 04 on the same cached features, with the student's
# `EarlyStopping` added to `ReduceLROnPlateau`.

# %%
compile_like_the_student(head)
history = training.fit(head, train=(train_features, whales.y_train),
                       validation=(val_features, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE,
                       callbacks=[student_reduce_lr("val_loss"), stop_early],
                       verbose=VERBOSE)
print(f"stopped after {len(history.history['loss'])} of {EPOCHS} epochs")

# %% [markdown]
# ## Evaluate
#
# The early-stopped head against the yardsticks of notebook 01; the report sets it
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
# - Early stopping saves time when validation loss stalls. `min_delta=0.5` demands
#   that the validation loss fall by half a unit at every epoch, which cross-entropy
#   does only early on: the number of epochs this run trained is printed above.
# - A model stopped early is not a better identifier: judge it by MAP@5 against the
#   all-`new_whale` line.
#
# Next: a grid search over optimizers, and a number that looked too good (07).

# %% [markdown]
# ## Exercises
#
# Three tasks on this notebook's data and run. Replace the `None` in each answer cell,
# run it, then run the check below it: the check recomputes what it needs from this run
# and answers with a verdict and a hint, never with the solution. An exercise left at
# `None` says that it waits, and the notebook runs on. The solutions, kept apart (in the
# book, behind *show the solution*):
# [`notebooks/solutions/06_transfer_early_stopping.py`](https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/solutions/06_transfer_early_stopping.py)
#
# ### Exercise 6.1 · compute: the last epoch's improvement
#
# `EarlyStopping` counts an epoch as progress only if its `val_loss` beats the best so
# far by more than `min_delta`. Compute how much the last epoch's `val_loss` improved on
# the best one before it (negative if it got worse), and compare it with `MIN_DELTA`.

# %% tags=["answer-1"]
improvement = None

# %%
exercises.last_improvement(improvement, history)

# %% [markdown]
# ### Exercise 6.2 · change and predict: more patience
#
# The cell below trains a fresh head on the cached features with this notebook's
# `EarlyStopping`, for at most 20 epochs. Change its `patience` to 3, but first say
# whether the run will stop `"later"` than this notebook's rule would have stopped it,
# or `"as early"`. The check replays the rule (`MIN_DELTA`, `PATIENCE`) on your run's own
# `val_loss`.

# %% tags=["answer-2"]
expect = None
trial_head = compile_like_the_student(
    transfer_head(whales.n_classes, n_features=train_features.shape[1], seed=SEED))
trial_stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=MIN_DELTA,
                                           patience=PATIENCE)
trial = trial_head.fit(train_features, whales.y_train, epochs=20, batch_size=BATCH_SIZE,
                       validation_data=(val_features, whales.y_val), callbacks=[trial_stop],
                       verbose=0)

# %%
exercises.other_stopping_rule(expect, trial, min_delta=MIN_DELTA, patience=PATIENCE)

# %% [markdown]
# ### Exercise 6.3 · build: stop at a target
#
# Write `StopAtAccuracy(target)`, a `keras.callbacks.Callback` that stops training at the
# end of the first epoch whose `val_accuracy` reaches `target`.

# %% tags=["answer-3"]
StopAtAccuracy = None

# %%
exercises.stop_at_accuracy(StopAtAccuracy)
