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
#     builds_on: 01_overfit_baseline
#     changes: '`Dropout(0.3)` around the dense block'
#     model: CNN + dropout
# ---

# %% [markdown]
# # 02 · Dropout against overfitting
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/02_dropout.ipynb)
# [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/02_dropout.ipynb)
#
# Notebook 01 is built to memorise its training photos. The usual first cure is
# dropout: during training, a random share of a layer's outputs is set to zero, so the
# network cannot lean on any single unit. The student added `Dropout(0.3)` before
# and after the final 256-unit dense block, and switched `ReduceLROnPlateau` to watch
# the *validation* loss, which is the right signal. Does the gap close, and does validation accuracy
# rise above the all-`new_whale` baseline?

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
DROPOUT = 0.3

# %% [markdown]
# ## Setup
#
# As in notebook 01, `session.start` checks the parameters cell, writes the synthetic data
# if it is missing, prints the library versions and seeds every generator.
# This notebook's own parameter is its lesson's knob: `DROPOUT`, the student's rate of 0.3.
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
from whale_utils import exercises, metrics, models, plots, session, training
from whale_utils.lessons import compile_like_the_student, student_reduce_lr

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The same rows, images and split as in notebook 01: `run.load_dataset()` makes notebook
# 01's `data.load_dataset` call with the parameters above. Only the model changes.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()

# %% [markdown]
# ## Model
#
# Notebook 01's network in full, with its two changes marked `# new`: a `Dropout` layer
# before the 256-unit dense layer, and one before the softmax. `conv_block` and the
# compilation come from notebook 01 (`whale_utils.lessons`). Tagged `export`: notebook
# 03 builds on this network.

# %% tags=["export"]
import keras
from keras import layers

from whale_utils.lessons import conv_block


def dropout_cnn(img_size: int, n_classes: int, dropout: float = 0.3,
                seed: int = 0) -> keras.Model:
    """Notebook 01's CNN with ``Dropout(dropout)`` before and after the dense block."""
    return keras.Sequential([
        keras.Input((img_size, img_size, 3), dtype="uint8"),
        layers.Rescaling(1 / 255),
        *conv_block(16), layers.BatchNormalization(),
        *conv_block(32), layers.Dropout(0.25, seed=seed),
        *conv_block(64), layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dropout(dropout, seed=seed + 1),                          # new
        layers.Dense(256, activation="relu"),
        layers.BatchNormalization(),
        layers.Dropout(dropout, seed=seed + 2),                          # new
        layers.Dense(n_classes, activation="softmax"),
    ], name="dropout_cnn")

# %% tags=["nbval-check-output"]
model = compile_like_the_student(dropout_cnn(IMG_SIZE, whales.n_classes, DROPOUT, seed=SEED))
models.print_summary(model)

# %% [markdown]
# ## Train
#
# As in notebook 01, with `ReduceLROnPlateau` now watching the validation loss
# (notebook 01 watched the training loss).

# %%
callbacks = [student_reduce_lr("val_loss")]
history = training.fit(model, train=(whales.x_train, whales.y_train),
                       validation=(whales.x_val, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE, callbacks=callbacks, verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# Has dropout narrowed notebook 01's gap between training and validation accuracy?
# The yardsticks of notebook 01 (the all-`new_whale` baseline, the pixel neighbour,
# the ceiling) on the same validation rows, with the same paired intervals.

# %%
result = metrics.evaluate(training.predict(model, whales.x_val), whales)
plots.plot_history(history, run.title, baseline_accuracy=result["baseline"]["accuracy"]);

# %%
run.show(result, history)

# %%
run.save_metrics(result, history, whales=whales, model=model)

# %% [markdown]
# ## Takeaways
#
# - Dropout switches off random units at every step, so memorising single photos
#   gets harder: compare the training accuracy above with notebook 01's.
# - Regularisation cannot create information that is not in the training rows:
#   most validation whales have no photo, or one, in training, and many rows are
#   `new_whale` (notebook 01's data summary counts them).
# - Compare MAP@5 with the all-`new_whale` line, not with notebook 01 alone; the
#   report (`make report`) compares 02 with 01 on the same rows, with an interval.
#
# Next: more (augmented) photos of the same whales (03).

# %% [markdown]
# ## Exercises
#
# Three tasks on this notebook's data and run. Replace the `None` in each answer cell,
# run it, then run the check below it: the check recomputes what it needs from this run
# and answers with a verdict and a hint, never with the solution. An exercise left at
# `None` says that it waits, and the notebook runs on. The solutions, kept apart (in the
# book, behind *show the solution*):
# [`notebooks/solutions/02_dropout.py`](https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/solutions/02_dropout.py)
#
# ### Exercise 2.1 · compute: the gap at the last epoch
#
# From `history.history`, compute training accuracy minus validation accuracy at the
# last epoch: the overfitting that dropout is meant to shrink.

# %% tags=["answer-1"]
gap = None

# %%
exercises.final_gap(gap, history)

# %% [markdown]
# ### Exercise 2.2 · change and predict: dropout at inference
#
# The cell below calls the trained model twice on the same 16 photos. Change `TRAINING`
# to `True` (Keras then runs the model as in `fit`), but first say whether the two calls
# will give the `"same"` scores or `"different"` ones.

# %% tags=["answer-2"]
expect = None
TRAINING = False
first = model(whales.x_val[:16], training=TRAINING)
second = model(whales.x_val[:16], training=TRAINING)

# %%
exercises.dropout_at_inference(expect, first, second, training=TRAINING)

# %% [markdown]
# ### Exercise 2.3 · build: a callback that watches the gap
#
# Write `GapLogger`, a `keras.callbacks.Callback` with a list `gaps` that gets, at the
# end of every epoch, training accuracy minus validation accuracy from the epoch's
# `logs`. The check tries it on known logs, then in a tiny real fit; pass it to
# `training.fit` above to watch the gap grow.

# %% tags=["answer-3"]
GapLogger = None

# %%
exercises.gap_logger(GapLogger)
