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
#     changes: frozen ResNet50V2 + a dense head
#     model: ResNet50V2 (frozen) + head
# ---

# %% [markdown]
# # 04 · Transfer learning with a frozen ResNet50V2
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/main/notebooks/04_transfer_learning.ipynb)
#
# A thousand photos are far too few to learn what a fluke looks like from scratch.
# Transfer learning borrows a network trained on ImageNet's 1.2 million photos,
# freezes it, and trains only a small head on its features. The student chose
# ResNet50V2. This notebook does the same, and fixes one quiet mistake on the way:
# the input scaling the backbone expects.

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
BACKBONE_WEIGHTS = "auto"

# %% [markdown]
# ## Setup
#
# As in notebook 01. ResNet50V2's weights are chosen below, from `BACKBONE_WEIGHTS`.

# %% active="ipynb"
# # Colab: install the series' package (nothing happens where it is installed)
# import importlib.util, subprocess, sys  # noqa: E401
# if not importlib.util.find_spec("whale_utils"):
#     subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/whale-notebooks/whale-notebooks"], check=True)  # noqa: E501

# %%
from whale_utils import metrics, models, plots, session, training

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The rows and split of notebook 01. The photos reach the backbone at `IMG_SIZE`
# pixels a side; ResNet50V2 was trained on ImageNet photos of 224.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()

# %% [markdown]
# ## Model
#
# ResNet50V2 without its classification top, average-pooled to 2048 features, frozen;
# on top, the student's head: batch normalisation, a 256-unit dense layer, dropout,
# batch normalisation, dropout and a softmax over every Id. The backbone gets its own
# preprocessing as its first layer (pixels scaled to [-1, 1]).

# %% tags=["nbval-check-output"]
weights, backbone, head, model = models.frozen_resnet_with_head(
    IMG_SIZE, whales.n_classes, backbone_weights=BACKBONE_WEIGHTS, seed=SEED)
print(weights.note)
models.print_summary(model)

# %% [markdown]
# The backbone as `whale_utils` builds it: the `Rescaling` layer in front is
# ResNet50V2's own preprocessing.

# %%
plots.show_code(models.resnet_backbone)

# %% [markdown]
# ### A pitfall: the backbone's input
#
# Each Keras application expects its own input scaling. The student fed ResNet50V2
# with the generic `imagenet_utils.preprocess_input` (the "caffe" mode of ResNet50 v1:
# BGR, mean subtracted) and then divided by 255. ResNet50V2 was trained on pixels
# scaled to [-1, 1] (`keras.applications.resnet_v2.preprocess_input`). Compare what
# reaches the first convolution:

# %%
sample = whales.images[:64]
for name, x in [("student: caffe preprocess_input / 255", models.student_preprocessing(sample)),
                ("ResNet50V2 expects: resnet_v2.preprocess_input", models.resnet_v2_preprocessing(sample))]:
    print(f"{name:48} range [{x.min():+.2f}, {x.max():+.2f}], spread {x.std():.2f}")

# %% [markdown]
# The student's inputs span about half of the range the weights were trained
# for, centred elsewhere and in the wrong colour order: the ImageNet features are
# then weaker than they should be. Here the model carries the right preprocessing
# as its first layer, so nobody can forget it.

# %% [markdown]
# ## Features, once
#
# The backbone is frozen and the training photos are not augmented, so its output for
# a photo never changes. The student still pushed every photo through all 50 layers at
# every epoch. Here the pooled features are computed once and the head trains on
# them: the same model (a test checks it), many times faster.

# %%
features = models.backbone_features(backbone, whales.images)
train_features, val_features = whales.train_val(features)
print(f"features: {features.shape}, {features.dtype}")

# %% [markdown]
# ## Train
#
# Only the head trains, on the cached features; `ReduceLROnPlateau` watches the
# validation loss as in notebook 02.

# %%
training.compile_model(head)
history = training.fit(head, train=(train_features, whales.y_train),
                       validation=(val_features, whales.y_val), epochs=EPOCHS,
                       batch_size=BATCH_SIZE, callbacks=[training.reduce_lr("val_loss")],
                       verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# If ImageNet features help, it shows here: the head on frozen features against the
# yardsticks of notebook 01 on the same validation rows.

# %%
result = metrics.evaluate(training.predict(head, val_features), whales)
run.show(result, history, backbone_weights=weights.source)

# %%
run.record(result, history, whales=whales, model=model, backbone_weights=weights.source)

# %% [markdown]
# ## Takeaways
#
# - ImageNet features were learned to tell object classes apart, not individual
#   flukes: the head can only combine what the backbone sees. The winners of the
#   competition trained for identities instead (metric learning, crops around the
#   fluke, 320-512 px inputs).
# - With random backbone weights (`none`, or `none-offline` when `"auto"` found no
#   weights), this notebook shows the pipeline, not transfer learning; the block
#   above and the report say which weights this run had.
# - Computing frozen features once turns each epoch into a fraction of a second.
#
# Next: data generation for the transfer model (05).
