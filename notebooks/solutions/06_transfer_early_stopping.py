# ---
# jupyter:
#   jupytext:
#     cell_metadata_filter: tags,-all
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
# ---

# %% [markdown]
# # Solutions · 06 · Transfer learning with early stopping
#
# Each cell replaces the answer cell of the same tag in
# `notebooks/06_transfer_early_stopping.py`; it runs in that notebook, after
# everything above its exercise. `make run-all SOLUTIONS=1` runs every
# notebook with its solutions (into `outputs/PROFILE-solutions/`), and `make test` checks
# that every check accepts them.

# %% tags=["answer-1"]
losses = history.history["val_loss"]
improvement = min(losses[:-1]) - losses[-1]

# %% tags=["answer-2"]
expect = "later"
trial_head = compile_like_the_student(
    transfer_head(whales.n_classes, n_features=train_features.shape[1], seed=SEED))
trial_stop = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=MIN_DELTA,
                                           patience=3)
trial = trial_head.fit(train_features, whales.y_train, epochs=20, batch_size=BATCH_SIZE,
                       validation_data=(val_features, whales.y_val), callbacks=[trial_stop],
                       verbose=0)

# %% tags=["answer-3"]
class StopAtAccuracy(keras.callbacks.Callback):
    def __init__(self, target):
        super().__init__()
        self.target = target

    def on_epoch_end(self, epoch, logs=None):
        if logs.get("val_accuracy", 0.0) >= self.target:
            self.model.stop_training = True
