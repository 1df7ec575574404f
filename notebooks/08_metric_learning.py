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
#     changes: an ArcFace embedding, nearest whales, `new_whale` as a similarity threshold
#     model: CNN embedding (ArcFace) + nearest whale
# ---

# %% [markdown]
# # 08 · Metric learning: an embedding, nearest whales, and `new_whale` as a threshold
#
# [![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)](https://colab.research.google.com/github/whale-notebooks/whale-notebooks/blob/v1.1.0/notebooks/08_metric_learning.ipynb)
#
# The seven notebooks so far trained a softmax over every Id. Most whales have one or
# two training photos, and a softmax cannot learn a class from one example; `new_whale`,
# a class of its own, is really "none of the others". The competition's leaders did
# something else: they learned an **embedding**, a network that maps each photo to a
# point on a sphere so that photos of one fluke lie close and photos of two lie apart.
# A whale it has barely seen is then found by its nearest photo, and `new_whale` is a
# distance, not a class: "no known photo is close enough".
#
# Here: the CNN trunk of the earlier notebooks, trained with an additive angular margin
# (ArcFace) over the known training whales; retrieval by cosine similarity; and a
# `new_whale` threshold tuned on held-out training rows. The same rows, split and
# scoring as notebooks 01-07.

# %% tags=["parameters"]
DATA_DIR = "../data/synthetic/default"
N_ROWS = 3000
IMG_SIZE = 48
EPOCHS = 30
BATCH_SIZE = 64
VALIDATION_SPLIT = 0.3
SPLIT = "last-rows"
SEED = 0
OUTPUT_DIR = "../outputs/default"
VERBOSE = 2
BACKBONE = "efficientnet-lite0"
BACKBONE_SIZE = 96
BACKBONE_WEIGHTS = "auto"
TRUNK = "cnn"
MARGIN = 0.6
NEW_WHALE_THRESHOLD = None

# %% [markdown]
# ## Setup
#
# As in notebook 01; the embedding, its loss and the retrieval live in `embedding`. Three
# parameters are this notebook's own: `TRUNK`, the network under the embedding (`"cnn"`,
# trained from the photos, or `"backbone"`, the ImageNet backbone of notebook 04);
# ArcFace's `MARGIN` (radians); and `NEW_WHALE_THRESHOLD`, left at `None` to be chosen on
# held-out training rows (a number fixes it, to see what a wrong one costs).

# %% active="ipynb"
# # Colab: install the series' package (nothing happens where it is installed)
# import importlib.util, subprocess, sys  # noqa: E401
# if not importlib.util.find_spec("whale_utils"):
#     subprocess.run([sys.executable, "-m", "pip", "install", "-q", "git+https://github.com/whale-notebooks/whale-notebooks@v1.1.0"], check=True)  # noqa: E501

# %%
from IPython.display import Markdown

from whale_utils import backbones, embedding, metrics, models, narrate, plots, session

run = session.start(globals())

# %% [markdown]
# ## Data
#
# The rows and split of notebook 01. A fifth of the training rows is set aside: the
# embedding never trains on them, and they tune the `new_whale` threshold below. The
# validation rows stay untouched until Evaluate.

# %% tags=["nbval-check-output"]
whales = run.load_dataset()
fit_rows, tuning_rows = embedding.tuning_rows(len(whales.y_train), seed=SEED)
learn = fit_rows[whales.y_train[fit_rows] != whales.new_whale_label]
print(f"embedding trains on {len(learn)} photos of "
      f"{len(set(whales.y_train[learn]))} known whales; {len(tuning_rows)} rows tune the threshold")

# %% [markdown]
# ## Model
#
# The embedding. With `TRUNK = "cnn"`, it is the CNN trunk of notebook 01 made twice
# as wide, trained from the photos themselves: three blocks of two 3x3 convolutions,
# flattened, a dropout and a projection. With `TRUNK = "backbone"` and ImageNet weights
# (`BACKBONE`, as in notebook 04), it starts from the backbone's features, computed once,
# under a small trained head (with random backbone weights, which teach nothing, the CNN
# trunk again). Either way the output is 128 numbers scaled to length 1.
#
# For training only, an ArcFace head sits on top: one unit vector per known whale, and
# logits `s cos θ` where θ is the angle between a photo and a whale; for the photo's
# own whale the angle is widened by a margin `m` first. To score well, a photo must be
# closer to its whale than to any other by that margin: photos of one whale are pulled
# together, those of different whales pushed apart. The head, as `whale_utils` writes it:

# %%
plots.show_code(embedding.AngularMargin)

# %% tags=["nbval-check-output"]
weights = backbones.choose_weights(BACKBONE, BACKBONE_WEIGHTS)
if TRUNK == "backbone" and weights.imagenet:   # ImageNet features, once, under a head
    backbone = backbones.feature_extractor(weights, IMG_SIZE, BACKBONE_SIZE)
    inputs = backbones.backbone_features(backbone, whales.images)
    net = embedding.feature_embedding(n_features=inputs.shape[1], seed=SEED)
else:                  # the CNN trunk, trained from the photos themselves
    inputs = whales.images
    net = embedding.cnn_embedding(IMG_SIZE, seed=SEED)
train_inputs, val_inputs = whales.train_val(inputs)
print(f"TRUNK={TRUNK!r}, {weights.note.split(':')[0]}: embedding {net.name}")
models.print_summary(net)

# %% [markdown]
# ## Train
#
# Known whales only: `new_whale` photos are not one whale, so they get no class. No
# augmentation here: notebook 03 measures what it does on this data (the report sets 03
# beside 02).
# The learning rate decays along a cosine, from 0.002 to 0 at the last step.

# %%
history = embedding.fit_arcface(net, train_inputs[learn], whales.y_train[learn],
                                epochs=EPOCHS, batch_size=BATCH_SIZE, margin=MARGIN,
                                seed=SEED, verbose=VERBOSE)

# %% [markdown]
# ## Retrieve
#
# Every photo's embedding; for a query photo, each known whale scores the cosine
# similarity of its nearest photo. `new_whale` is inserted at the rank where that
# similarity falls below a threshold. The threshold is chosen on the held-out training
# rows (queried against the photos the embedding learned from), never on validation
# rows: the curve below is MAP@5 on those rows for every threshold.

# %%
train_embeddings = embedding.embed(net, train_inputs)
val_embeddings = embedding.embed(net, val_inputs)
curve = embedding.threshold_curve(
    train_embeddings[tuning_rows], whales.y_train[tuning_rows],
    train_embeddings[learn], whales.y_train[learn],
    new_whale=whales.new_whale_label, n_classes=whales.n_classes)
threshold = embedding.choose_threshold(curve, fixed=NEW_WHALE_THRESHOLD)
print(f"new_whale threshold: {threshold:.2f} (MAP@5 {curve[threshold]:.3f} on the held-out "
      "training rows)")
plots.plot_threshold_curve(curve, threshold);

# %% [markdown]
# Four validation photos and the five most similar training photos, with their Ids
# and similarities: retrieval needs no class for a whale, only one photo of it.

# %%
plots.show_nearest(whales, val_embeddings @ train_embeddings.T, rows=[0, 1, 2, 3]);

# %% [markdown]
# ## Evaluate
#
# For validation, every known training photo is in the gallery (the held-out rows
# too: they cost nothing to add). Then the yardsticks of notebook 01 on the same rows;
# the report sets 08 beside all the others.

# %%
known = whales.y_train != whales.new_whale_label
similarity = embedding.whale_similarity(val_embeddings, train_embeddings[known],
                                        whales.y_train[known], whales.n_classes)
result = metrics.evaluate(embedding.retrieval_scores(similarity, whales.new_whale_label,
                                                     threshold), whales)
run.show(result)

# %%
weights_used = weights.source if net.name == "feature_embedding" else "not used (CNN trunk)"
run.record(result, history, whales=whales, model=net, backbone_weights=weights_used,
           extra={"new_whale_threshold": threshold, "tuning_map5": curve[threshold]})

# %% [markdown]
# ## Takeaways
#
# This run against the all-`new_whale` baseline, in one line:

# %%
Markdown(narrate.headline(result))

# %% [markdown]
# - An embedding turns identification into lookup: a whale needs one photo in the
#   gallery, not enough photos to train a class. A new photo of a known whale can be
#   added to the gallery without training anything.
# - `new_whale` is a decision about distance. Its threshold is a parameter like any
#   other, tuned on rows the model never trained on: the network knows its own
#   training photos better than any new photo, so a threshold tuned on them would be
#   biased.
# - The competition's leaders went further along the same road: crops around the
#   fluke, inputs of 384 px and more, ImageNet-pretrained backbones under the metric
#   loss, and flipped flukes as extra whales. The report compares this notebook with
#   every classifier before it, on the same validation rows.
