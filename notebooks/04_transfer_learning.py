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
#     changes: a frozen ImageNet backbone + a dense head
#     model: ImageNet backbone (frozen) + head
# ---

# %% [markdown]
# # 04 · Transfer learning with a frozen ImageNet backbone
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/04_transfer_learning.ipynb)
# [![Open In Kaggle](https://kaggle.com/static/images/open-in-kaggle.svg)](https://kaggle.com/kernels/welcome?src=https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/04_transfer_learning.ipynb)
#
# A thousand photos are far too few to learn what a fluke looks like from scratch.
# Transfer learning borrows a network trained on ImageNet's 1.2 million photos,
# freezes it, and trains only a small head on its features. The student chose
# ResNet50V2 (`BACKBONE = "resnet50v2"`; Keras downloads its weights). By default this
# series uses EfficientNet-Lite0, a smaller ImageNet network whose weights ship in a pip
# package, so that the lesson is real offline, in CI and in Colab alike. Either way it is
# the same lesson, and it fixes one quiet mistake of the student's on the way: the input
# scaling the backbone expects.

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

# %% [markdown]
# ## Setup
#
# As in notebook 01, `session.start` checks the parameters cell, writes the synthetic data
# if it is missing, prints the library versions and seeds every generator.
# `BACKBONE` names the ImageNet network, `BACKBONE_SIZE` the size
# of the photos it sees (they are resized inside the model), `BACKBONE_WEIGHTS` its
# weights (`"auto"`: ImageNet's when they can be had, random otherwise, and the run
# says so); `backbones` builds it.
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
from whale_utils import backbones, exercises, metrics, models, plots, session, training
from whale_utils.lessons import compile_like_the_student, student_reduce_lr

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The rows and split of notebook 01, at `IMG_SIZE` pixels a side. Both backbones were
# trained on ImageNet photos of 224 and shrink a photo 32-fold on the way to their
# features, so the model enlarges the photos to `BACKBONE_SIZE` before the backbone.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()

# %% [markdown]
# ## Model
#
# The backbone without its classification top, average-pooled to one feature vector
# per photo (1280 numbers for EfficientNet-Lite0, 2048 for ResNet50V2), and frozen:
# `backbones.feature_extractor` puts a `Resizing` layer to `BACKBONE_SIZE` and the
# backbone's own preprocessing in front of it (its summary lists them). The line below
# says which backbone and weights this run has.

# %% tags=["nbval-check-output"]
weights = backbones.choose_weights(BACKBONE, BACKBONE_WEIGHTS)
backbone = backbones.feature_extractor(weights, IMG_SIZE, BACKBONE_SIZE)
backbone.trainable = False                    # frozen: only the head below learns
print(weights.note)
models.print_summary(backbone)

# %% [markdown]
# On top, the student's head: batch normalisation, a 256-unit dense layer, dropout,
# batch normalisation, dropout and a softmax over every Id. Its random draws are seeded,
# so the head is the same in every process that builds it (notebook 07 builds it once
# per optimizer and fold). Tagged `export`: notebooks 05-07 reuse head and model.

# %% tags=["export"]
import keras
from keras import layers


def transfer_head(n_classes: int, n_features: int, dropout: float = 0.3,
                  seed: int = 0) -> keras.Model:
    """The student's head on pooled features: BN, Dense256, Dropout, BN, Dropout, softmax."""
    return keras.Sequential([
        keras.Input((n_features,)),
        layers.BatchNormalization(),
        layers.Dense(256, activation="relu",
                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed)),
        layers.Dropout(dropout, seed=seed),
        layers.BatchNormalization(),
        layers.Dropout(dropout, seed=seed + 1),
        layers.Dense(n_classes, activation="softmax",
                     kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 2)),
    ], name="transfer_head")


def transfer_model(backbone: keras.Model, head: keras.Model) -> keras.Model:
    """Backbone and head as one model on uint8 photos."""
    inputs = keras.Input(backbone.input_shape[1:], dtype="uint8")
    return keras.Model(inputs, head(backbone(inputs)), name="transfer_model")

# %% tags=["nbval-check-output"]
head = transfer_head(whales.n_classes, n_features=backbone.output_shape[-1], seed=SEED)
model = transfer_model(backbone, head)
models.print_summary(model)

# %% [markdown]
# ### What ImageNet sees in a fluke
#
# With its classifier still on top, the backbone names one of ImageNet's 1000 classes
# for any photo. For a few training photos, enlarged to 224 pixels (what the
# classifier takes), its five likeliest classes: object classes such as whales or
# sharks, never an individual. The head trained below throws this classifier away and
# learns the Ids from the features under it.

# %%
if weights.imagenet:
    photos = backbones.resize_photos(whales.images[:4])
    classifier = backbones.imagenet_classifier(BACKBONE)
    guesses = backbones.top_classes(classifier.predict(photos, verbose=0))
    plots.plot_imagenet_guesses(photos, guesses, titles=whales.frame["Id"][:4])
else:
    print("random weights: this backbone has no ImageNet classes to show")

# %% [markdown]
# ### A pitfall: the backbone's input
#
# Each ImageNet network expects the input scaling it was trained with. The student fed
# ResNet50V2 with the generic `imagenet_utils.preprocess_input` (the "caffe" mode of
# ResNet50 v1: BGR, mean subtracted) and then divided by 255. ResNet50V2 was trained on
# pixels scaled to [-1, 1] (`keras.applications.resnet_v2.preprocess_input`),
# EfficientNet-Lite0 on (x - 127) / 128. Compare what reaches the first convolution:

# %%
sample = whales.images[:64]
inputs = {"student: caffe preprocess_input / 255": backbones.student_preprocessing(sample),
          "ResNet50V2 expects": backbones.expected_preprocessing("resnet50v2", sample),
          "EfficientNet-Lite0 expects": backbones.expected_preprocessing("efficientnet-lite0", sample)}
for name, x in inputs.items():
    print(f"{name:40} range [{x.min():+.2f}, {x.max():+.2f}], spread {x.std():.2f}")

# %% [markdown]
# The student's inputs span a small part of the range the weights were trained for,
# centred elsewhere and in the wrong colour order: the ImageNet features are then
# weaker than they should be. Here the model carries its backbone's own preprocessing
# as its first layer, so nobody can forget it.

# %% [markdown]
# ## Features, once
#
# The backbone is frozen and the training photos are not augmented, so its output for
# a photo never changes. The student still pushed every photo through the whole
# backbone at every epoch. Here the pooled features are computed once and the head
# trains on them: the same model (a test checks it), and only the small head runs in
# each epoch.

# %%
features = backbones.backbone_features(backbone, whales.images)
train_features, val_features = whales.train_val(features)
print(f"features: {features.shape}, {features.dtype}")

# %% [markdown]
# ## Train
#
# Only the head trains, on the cached features; `ReduceLROnPlateau` watches the
# validation loss as in notebook 02.

# %%
compile_like_the_student(head)
history = training.fit(head, train=(train_features, whales.y_train),
                       validation=(val_features, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE, callbacks=[student_reduce_lr("val_loss")],
                       verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# If ImageNet features help, it shows here: the head on frozen features against the
# yardsticks of notebook 01 on the same validation rows.

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
# - ImageNet features were learned to tell object classes apart, not individual
#   flukes: the head can only combine what the backbone sees. The winners of the
#   competition trained for identities instead (metric learning, crops around the
#   fluke, 320-512 px inputs).
# - Each backbone expects its own input scaling; a model that carries it as its first
#   layer cannot be fed the wrong one.
# - With random backbone weights (`none`, or `none-offline` when ResNet50V2's weights
#   could not be had), this notebook shows the pipeline, not transfer learning; the
#   block above and the report say which backbone and weights this run had.
# - With frozen features computed once, an epoch trains only the head: the training
#   time is in the report.
#
# Next: data generation for the transfer model (05).

# %% [markdown]
# ## Exercises
#
# Three tasks on this notebook's data and run. Replace the `None` in each answer cell,
# run it, then run the check below it: the check recomputes what it needs from this run
# and answers with a verdict and a hint, never with the solution. An exercise left at
# `None` says that it waits, and the notebook runs on. The solutions, kept apart (in the
# book, behind *show the solution*):
# [`notebooks/solutions/04_transfer_learning.py`](https://github.com/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/solutions/04_transfer_learning.py)
#
# ### Exercise 4.1 · compute: what training can change
#
# Compute how many numbers (weights) of `model` training can change, the backbone being
# frozen: the size of every array in `model.trainable_weights`, added up.

# %% tags=["answer-1"]
n_trainable = None

# %%
exercises.trainable_count(n_trainable, model)

# %% [markdown]
# ### Exercise 4.2 · change and predict: unfreeze the backbone
#
# The cell below builds a second backbone, frozen like this notebook's, and trains it
# with a head for one epoch on 32 photos. Change `False` to `True` in the line that
# freezes the ImageNet network inside it (its last layer: the network was frozen on its
# own, so `trial.trainable = True` alone would not unfreeze it; `trial.trainable_weights`
# tells), but first say whether its weights will have `"moved"` or stayed `"unchanged"`.

# %% tags=["answer-2"]
expect = None
trial = backbones.feature_extractor(weights, IMG_SIZE, BACKBONE_SIZE)
trial.layers[-1].trainable = False
before = trial.get_weights()
trial_head = transfer_head(whales.n_classes, n_features=trial.output_shape[-1], seed=SEED)
trial_model = compile_like_the_student(transfer_model(trial, trial_head))
trial_model.fit(whales.x_train[:32], whales.y_train[:32], batch_size=32, epochs=1, verbose=0);

# %%
exercises.frozen_or_not(expect, before, trial)

# %% [markdown]
# ### Exercise 4.3 · build: a linear head
#
# Write `linear_head(n_classes, n_features)`: a Keras model from `n_features` numbers
# to a softmax over `n_classes`, with no hidden layer (a *linear probe*: how much do the
# ImageNet features alone tell the whales apart?). Train it like `head` above to find out.

# %% tags=["answer-3"]
linear_head = None

# %%
exercises.linear_head(linear_head)
