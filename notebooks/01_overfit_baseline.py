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
#     builds_on: null
#     changes: a small CNN, no regularisation
#     model: CNN
# ---

# %% [markdown]
# # 01 · An overfit baseline CNN
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/01_overfit_baseline.ipynb)
# [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/01_overfit_baseline.ipynb)
#
# **Goal.** Tell individual humpback whales apart from photos of their tail flukes:
# each photo has one `Id` (`w_1a2b3c4`), or `new_whale` for an animal not in the
# catalogue. This first notebook retells the student's starting point: a small
# convolutional network trained on the first rows of `train.csv`, with no
# regularisation at all. It is meant to overfit: training accuracy climbing towards a
# perfect score while validation accuracy stays near the all-`new_whale` baseline.
# Whether this run does, and by how much, is computed below from its own numbers. The
# rest of the series fights that gap, and asks what the numbers really mean.

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

# %% [markdown]
# ## Setup
#
# The model, its training and its callback are written out in this notebook's cells;
# loading, scoring and plotting are small named calls of `whale_utils`, the package every
# notebook shares (in Colab the first cell installs it). `session.start` checks the
# parameters cell, writes the synthetic data if `DATA_DIR` has none, prints the library
# versions and seeds everything, so that a re-run gives the same numbers on this machine.
#
# **Keras backend.** Every notebook runs unchanged on TensorFlow (the default), JAX or
# PyTorch. To choose, make `import os; os.environ["KERAS_BACKEND"] = "jax"` (or `"torch"`)
# the first line of the cell that imports `whale_utils`, before anything imports Keras
# (restart the kernel if it already has); at home, `make run-all BACKEND=jax`. That cell
# prints the backend it runs on, and the metrics record it.

# %% active="ipynb"
# # Colab or Kaggle: install the series' package (nothing happens where it is installed)
# import importlib.util, subprocess, sys  # noqa: E401
# if not importlib.util.find_spec("whale_utils"):
#     if subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/whale-notebooks/whale-notebooks@v1.1.0"]).returncode:  # noqa: E501
#         raise SystemExit("pip could not install the series' package (its message is above). In a Kaggle Notebook that is most often the internet being off: Settings, Internet on (it needs a verified phone number), then run this cell again. The competition's data needs no internet.")  # noqa: E501

# %%
from IPython.display import Markdown

from whale_utils import data, exercises, metrics, models, narrate, plots, session, training

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The student took the first `N_ROWS` rows of `train.csv`, resized every photo to a
# small square, encoded the Ids as integers, and let Keras hold back the last rows for
# validation (`validation_split=0.3`: the last 30 %, not shuffled).
# `load_dataset` does the same and keeps the images as `uint8`: the model rescales
# them itself. The summary already tells most of the story: look at the share of
# `new_whale`, and at how many validation rows belong to a whale that never appears
# in training.

# %% tags=["nbval-check-output"]
whales = data.load_dataset(DATA_DIR, n_rows=N_ROWS, img_size=IMG_SIZE,
                           validation_split=VALIDATION_SPLIT, split=SPLIT, seed=SEED)
print(whales.describe())

# %%
plots.plot_examples(whales);

# %% [markdown]
# ## Model
#
# The student's `get_model()`, in Keras 3: three blocks of two 3x3 convolutions and a
# max-pooling, batch normalisation after the first and last block and a 25 % dropout
# after the second; then a 256-unit dense layer and a softmax over every Id. The photos
# arrive as `uint8`; the model's `Rescaling` layer brings them to [0, 1]. Adam with the
# student's settings and sparse categorical cross-entropy (integer labels, no one-hot).
# The cell is tagged `export`: `make sync` copies it into `whale_utils.lessons`, where
# notebooks 02 and 03 find it.

# %% tags=["export"]
import keras
from keras import layers


def conv_block(filters: int) -> list:
    """Two 3x3 convolutions and a 2x2 max-pooling: the student's building block."""
    return [layers.Conv2D(filters, 3, padding="same", activation="relu"),
            layers.Conv2D(filters, 3, padding="same", activation="relu"),
            layers.MaxPooling2D()]


def student_cnn(img_size: int, n_classes: int, seed: int = 0) -> keras.Model:
    """The student's CNN: uint8 photos in, a softmax over every Id out."""
    return keras.Sequential([
        keras.Input((img_size, img_size, 3), dtype="uint8"),
        layers.Rescaling(1 / 255),
        *conv_block(16), layers.BatchNormalization(),
        *conv_block(32), layers.Dropout(0.25, seed=seed),
        *conv_block(64), layers.BatchNormalization(),
        layers.Flatten(),
        layers.Dense(256, activation="relu"),
        layers.BatchNormalization(),
        layers.Dense(n_classes, activation="softmax"),
    ], name="baseline_cnn")


def compile_like_the_student(model: keras.Model, optimizer=None) -> keras.Model:
    """Adam(1e-3, 0.9, 0.999), or ``optimizer``; sparse categorical cross-entropy;
    accuracy and top-5 accuracy."""
    optimizer = optimizer or keras.optimizers.Adam(learning_rate=1e-3, beta_1=0.9,
                                                   beta_2=0.999)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy",
                  metrics=["accuracy", keras.metrics.SparseTopKCategoricalAccuracy(5, name="top5")])
    return model


def student_reduce_lr(monitor: str) -> keras.callbacks.Callback:
    """The learning rate times 0.8 after one epoch without progress on ``monitor``."""
    return keras.callbacks.ReduceLROnPlateau(monitor=monitor, patience=1, factor=0.8,
                                             min_lr=1e-5, verbose=0)

# %% tags=["nbval-check-output"]
model = compile_like_the_student(student_cnn(IMG_SIZE, whales.n_classes, seed=SEED))
models.print_summary(model)

# %% [markdown]
# ## Train
#
# The student's settings: the parameters cell's epochs and batch size, and
# `ReduceLROnPlateau` watching the *training* loss, which can only keep falling.
# `training.fit` is Keras' `model.fit`, timed.

# %%
history = training.fit(model, train=(whales.x_train, whales.y_train),
                       validation=(whales.x_val, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE, callbacks=[student_reduce_lr("loss")],
                       verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# Training accuracy against validation accuracy, epoch by epoch: the gap is the
# overfitting. Then the validation rows are scored three ways (accuracy, top-5
# accuracy, and MAP@5, the competition's metric) next to the all-`new_whale` baseline
# (`new_whale` first, then the commonest whales), and next to the ceiling: the share of
# validation rows whose Id occurs in training at all. One more yardstick needs no
# training: guess `new_whale` first, then the Ids of the training photos nearest in
# raw pixels. A network that learned anything about flukes should beat it.
#
# Every comparison is paired: the model and the yardstick are scored on the same
# validation rows, and the rows are resampled to give a 95 % interval of the
# difference. An interval that contains 0 is reported as no clear difference.
# The learning curves first: training and validation accuracy per epoch, with the
# all-`new_whale` line; the gap between the two curves is this notebook's lesson. Then
# `run.show` prints the scores, draws the comparison with the yardsticks, and writes the
# sentences of "What this run shows" from this run's numbers; `run.save_metrics` saves
# them, with the parameters the run used, for the report.

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
# This run, in one line:

# %%
Markdown(narrate.headline(result, train_accuracy=metrics.last_epoch(history)))

# %% [markdown]
# - A network with far more weights than training photos, and one or two photos
#   per whale, can memorise its training photos; validation accuracy is the number
#   that says whether it learned anything else. Read it against the all-`new_whale`
#   baseline: the data summary above prints how many rows are `new_whale`.
# - MAP@5 sees more than accuracy: behind `new_whale`, do the network's next guesses
#   find known whales more often than the baseline and the pixel neighbour?
#   That, and the known-whale rows, tell whether it learned anything about flukes.
# - With the last-rows split, validation holds whales that never appear in
#   training: the ceiling shows how much of the validation set no model could get
#   right.
#
# Next: dropout, the classic cure for overfitting (02).

# %% [markdown]
# ## Exercises
#
# Three tasks on this notebook's data and run. Replace the `None` in each answer cell,
# run it, then run the check below it: the check recomputes what it needs from this run
# and answers with a verdict and a hint, never with the solution. An exercise left at
# `None` says that it waits, and the notebook runs on. The solutions, kept apart (in the
# book, behind *show the solution*):
# [`notebooks/solutions/01_overfit_baseline.py`](https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/solutions/01_overfit_baseline.py)
#
# ### Exercise 1.1 · compute: the all-`new_whale` accuracy
#
# A model that answers `new_whale` for every photo is right exactly on the `new_whale`
# rows. Compute, from `whales.y_val` and `whales.new_whale_label`, the share of
# validation rows that are `new_whale` (a fraction, not a percentage): the yardstick
# this notebook's accuracy is read against.

# %% tags=["answer-1"]
share = None

# %%
exercises.new_whale_share(share, whales)

# %% [markdown]
# ### Exercise 1.2 · build: AP@5 for one photo
#
# Write `average_precision(true_id, ranked_ids)`: the competition's score of one photo,
# whose true Id is `true_id`, given the model's guesses `ranked_ids`, best first. MAP@5
# is its mean over the photos.

# %% tags=["answer-2"]
average_precision = None

# %%
exercises.average_precision(average_precision)

# %% [markdown]
# ### Exercise 1.3 · change and predict: the ceiling of the other split
#
# With `SPLIT="last-rows"` many validation whales never appear in training. Load the
# same rows with `split="known"` instead (change one argument of the `load_dataset`
# call at the top of this notebook), but first say whether the ceiling will be
# `"higher"` or `"lower"`.

# %% tags=["answer-3"]
expect = None
other = None

# %%
exercises.ceiling_of_another_split(expect, whales, other)
