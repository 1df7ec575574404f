# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
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
#     changes: + rotation, zoom, shifts as Keras layers in `tf.data`
#     model: CNN + dropout + data generation
# ---

# %% [markdown]
# # 03 · Dropout and data generation
#
# With one or two photos per whale, the network sees too few views of each fluke.
# Data generation (augmentation) shows it a slightly different photo at every epoch:
# rotated by up to 10°, zoomed by up to 10 %, shifted by up to 10 % in each direction.
# The student used `ImageDataGenerator.flow_from_dataframe`, which reads and
# transforms every JPEG in Python on every epoch: about 20 minutes for 10 epochs.
# Here the same transformations are Keras preprocessing layers inside a `tf.data`
# pipeline, applied to images decoded once.

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

# %% [markdown]
# ## Setup
#
# As in notebook 01: the shared package, the parameters checked, the seeds set.

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
from IPython.display import Markdown

from whale_utils import (augment, data, metrics, models, narrate, params, plots, record,
                         training)

record.print_versions()
PARAMS = params.check(globals())
training.set_seed(SEED)

# %% [markdown]
# ## Data
#
# The same rows, images and split as in notebook 01.

# %% tags=["nbval-check-output"]
whales = data.load_dataset(DATA_DIR, n_rows=N_ROWS, img_size=IMG_SIZE,
                           validation_split=VALIDATION_SPLIT, split=SPLIT, seed=SEED)
print(whales.describe())

# %% [markdown]
# ## Data generation
#
# The training rows, shuffled and augmented afresh at every epoch. Validation rows
# are never augmented. A few augmented copies of one training photo:

# %%
train_batches = augment.augmented_dataset(whales.x_train, whales.y_train, BATCH_SIZE, SEED)
plots.show_augmented(whales.x_train[0], augment.student_augmentation(SEED));

# %% [markdown]
# ## Model
#
# The dropout CNN of notebook 02.

# %% tags=["nbval-check-output"]
model = training.compile_model(
    models.baseline_cnn(IMG_SIZE, whales.n_classes, dense_dropout=0.3, seed=SEED))
models.print_summary(model)

# %% [markdown]
# ## Train
#
# As in notebook 02, on the augmented batches.

# %%
history = training.fit(model, train=train_batches, validation=(whales.x_val, whales.y_val),
                       epochs=EPOCHS, callbacks=[training.reduce_lr("val_loss")],
                       verbose=VERBOSE)

# %% [markdown]
# ## Evaluate
#
# The yardsticks of notebook 01 on the same validation rows: the all-`new_whale` baseline,
# the pixel neighbour and the ceiling.

# %%
result = metrics.evaluate(training.predict(model, whales.x_val), whales)
print(metrics.format_results(result))

# %%
plots.plot_history(history, "03 · dropout + data generation",
                   baseline_accuracy=result["baseline"]["accuracy"]);

# %%
plots.plot_baseline_comparison(result, "03 · dropout + data generation");

# %% [markdown]
# The same yardsticks as in notebook 01, on the same rows; the sentences below are
# computed from this run's numbers (paired 95 % intervals).

# %%
train_accuracy = metrics.last_epoch(history, "accuracy")
Markdown(narrate.what_this_run_shows(result, train_accuracy=train_accuracy,
                                     notebook="03_dropout_datagen"))

# %%
saved = record.save_metrics(OUTPUT_DIR, "03_dropout_datagen", result, history,
                            params={**PARAMS, **whales.used_params()},
                            extra={"parameters": models.count_params(model)})
print(f"metrics written to {saved}")

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
