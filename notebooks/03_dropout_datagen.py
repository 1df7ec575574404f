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
#     builds_on: 02_dropout
#     changes: + rotation, zoom, shifts as a Keras layer in the model
#     model: CNN + dropout + data generation
# ---

# %% [markdown]
# # 03 · Dropout and data generation
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/03_dropout_datagen.ipynb)
# [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/03_dropout_datagen.ipynb)
#
# With one or two photos per whale, the network sees too few views of each fluke.
# Data generation (augmentation) shows it a slightly different photo at every epoch:
# rotated by up to 10°, zoomed by up to 10 %, shifted by up to 10 % in each direction.
# The student used `ImageDataGenerator.flow_from_dataframe`, which reads and
# transforms every JPEG in Python on every epoch: about 20 minutes for 10 epochs.
# Here the same transformations are one Keras layer, the model's first, applied to
# images decoded once, inside the training step.

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
ROTATION = 10
ZOOM = 0.1
SHIFT = 0.1

# %% [markdown]
# ## Setup
#
# As in notebook 01, `session.start` checks the parameters cell, writes the synthetic data
# if it is missing, prints the library versions and seeds every generator.
# `augment`, the module of the augmentation layer, joins the imports.
# The notebook's own parameters are the student's: `DROPOUT` as in 02, and the
# augmentation's ranges `ROTATION` (degrees), `ZOOM` and `SHIFT` (fractions).
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

from whale_utils import augment, exercises, metrics, models, plots, session, training
from whale_utils.lessons import compile_like_the_student, dropout_cnn, student_reduce_lr

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The rows and split of notebook 01; the augmentation below touches only the
# training rows.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()

# %% [markdown]
# ## Data generation
#
# The student's `ImageDataGenerator` settings, as one Keras layer that draws a new
# rotation, zoom and shift for every photo of every training batch. It becomes the
# model's first layer: it runs inside the training step, on the step's own threads, and
# does nothing at prediction, so validation photos are never augmented. A few augmented
# copies of one training photo:

# %%
augmentation = augment.student_augmentation(rotation=ROTATION, zoom=ZOOM, shift=SHIFT, seed=SEED)
plots.plot_augmented(whales.x_train[0], augmentation);

# %% [markdown]
# ## Model
#
# Notebook 02's dropout CNN (`whale_utils.lessons`, exported from 02) behind the
# augmentation layer: the model's first layer transforms every training batch, and
# passes photos through untouched at prediction.

# %% tags=["nbval-check-output"]
model = keras.Sequential([
    keras.Input((IMG_SIZE, IMG_SIZE, 3), dtype="uint8"),
    augmentation,                                                  # new: training only
    dropout_cnn(IMG_SIZE, whales.n_classes, DROPOUT, seed=SEED),
], name="augmented_dropout_cnn")
compile_like_the_student(model)
models.print_summary(model)

# %% [markdown]
# ## Train
#
# As in notebook 02; every epoch sees the training photos newly transformed.

# %%
history = training.fit(model, train=(whales.x_train, whales.y_train),
                       validation=(whales.x_val, whales.y_val),
                       epochs=EPOCHS, batch_size=BATCH_SIZE,
                       callbacks=[student_reduce_lr("val_loss")], verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# Augmented training, scored like every notebook against the all-`new_whale`
# baseline, the pixel neighbour and the ceiling; the report sets it beside 02.

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
# - Augmentation makes the training task harder: every epoch shows new variants of
#   each photo, so the network has to learn the fluke, not the photo, and its
#   training accuracy measures a harder task than in 02.
# - A harder task takes more epochs to learn; with a fixed budget of epochs,
#   augmentation can cost more than it gives. The report compares 03 with 02 on the
#   same rows, with an interval.
# - Augmentation cannot add whales that training has never seen: the ceiling stays
#   where it was.
#
# Next: features learned on ImageNet instead of from a thousand photos (04).

# %% [markdown]
# ## Exercises
#
# Three tasks on this notebook's data and run. Replace the `None` in each answer cell,
# run it, then run the check below it: the check recomputes what it needs from this run
# and answers with a verdict and a hint, never with the solution. An exercise left at
# `None` says that it waits, and the notebook runs on. The solutions, kept apart (in the
# book, behind *show the solution*):
# [`notebooks/solutions/03_dropout_datagen.py`](https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/solutions/03_dropout_datagen.py)
#
# ### Exercise 3.1 · compute: photos per known whale
#
# Augmentation is meant to make up for few photos per whale. Compute the mean number of
# training photos per known whale (leave `new_whale` out: it is not one whale).

# %% tags=["answer-1"]
photos_per_whale = None

# %%
exercises.photos_per_known_whale(photos_per_whale, whales)

# %% [markdown]
# ### Exercise 3.2 · change and predict: a stronger rotation
#
# `stronger` below is this notebook's augmentation. Change its rotation from `ROTATION`
# to 90 degrees, but first say whether a pixel will change by a `"larger"` or a
# `"smaller"` amount on average.

# %% tags=["answer-2"]
expect = None
stronger = augment.student_augmentation(rotation=ROTATION, zoom=ZOOM, shift=SHIFT, seed=SEED)

# %%
exercises.stronger_rotation(expect, augmentation, stronger, whales.x_train[:64])

# %% [markdown]
# ### Exercise 3.3 · build: an augmentation of your own
#
# Build `my_augmentation`, a layer (e.g. a `keras.Sequential` of Keras' `Random*`
# preprocessing layers: a flip, a contrast or brightness change) that changes photos in
# training, leaves them unchanged at inference, and keeps their shape.

# %% tags=["answer-3"]
my_augmentation = None

# %%
exercises.augmentation_layer(my_augmentation, whales.x_train[:8])
