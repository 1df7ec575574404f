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
#
# **Goal.** Tell individual humpback whales apart from photos of their tail flukes:
# each photo has one `Id` (`w_1a2b3c4`), or `new_whale` for an animal not in the
# catalogue. This first notebook retells the student's starting point: a small
# convolutional network trained on the first rows of `train.csv`, with no
# regularisation at all. It is meant to overfit: training accuracy climbing towards a
# perfect score while validation accuracy stays near the all-`new_whale` baseline.
# Whether this run does, and by how much, is computed below from its own numbers. The
# rest of the series fights that gap, and asks what the numbers really mean.

# %% tags=["parameters"]
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
# All the work is done by small named functions of `whale_utils`, the package shared
# by every notebook of the series; the notebook shows and explains. In Colab the first
# cell installs it. `session.start` then does what every notebook does first: it writes
# the profile's synthetic data if `DATA_DIR` has none yet, checks every value of the
# parameters cell (type, range, a folder it can write to) before any work starts,
# prints the library versions, and seeds Python, NumPy, Keras and TensorFlow with
# TensorFlow's ops made deterministic, so a re-run gives the same numbers on the same
# machine. It also learns the notebook's name (from the runner or from Jupyter), under
# which `run.record` writes this run's metrics at the end.

# %% active="ipynb"
# # Colab: install the series' package (nothing happens where it is installed)
# import importlib.util, subprocess, sys  # noqa: E401
# if not importlib.util.find_spec("whale_utils"):
#     subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/whale-notebooks/whale-notebooks@v1.1.0"], check=True)  # noqa: E501

# %%
from IPython.display import Markdown

from whale_utils import data, metrics, models, narrate, plots, session, training

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
# Three blocks of two 3x3 convolutions and a max-pooling, batch normalisation after
# the first and last block and a 25 % dropout after the second; then a 256-unit dense
# layer and a softmax over every Id. Adam with the student's settings, sparse
# categorical cross-entropy (integer labels, no one-hot), and `ReduceLROnPlateau`
# watching the *training* loss, which can only keep falling. The student's network, as
# `whale_utils` builds it:

# %%
plots.show_code(models.baseline_cnn)

# %% tags=["nbval-check-output"]
model = training.compile_model(models.baseline_cnn(IMG_SIZE, whales.n_classes, seed=SEED))
models.print_summary(model)

# %% [markdown]
# ## Train
#
# The student's settings: the parameters cell's epochs and batch size, the learning
# rate lowered whenever the training loss stalls.

# %%
history = training.fit(model, train=(whales.x_train, whales.y_train),
                       validation=(whales.x_val, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE, callbacks=[training.reduce_lr("loss")],
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
