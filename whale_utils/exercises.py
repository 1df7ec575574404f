"""The checks of the notebooks' exercises: each returns a ``Feedback``, a verdict and a hint.

A check recomputes what it needs from the data and the run in memory (never a stored
result), never states the answer, and fails nothing: an exercise left at ``None`` only
says that it waits for an answer, so the notebooks run as they are.
"""

from __future__ import annotations

from dataclasses import dataclass

import keras
import numpy as np

RIGHT, NOT_YET, UNANSWERED = "right", "not yet", "not answered"


@dataclass(frozen=True)
class Feedback:
    """What a check says of one exercise; Jupyter shows it as one Markdown line."""

    exercise: str
    verdict: str
    text: str

    @property
    def passed(self) -> bool:
        return self.verdict == RIGHT

    def __repr__(self) -> str:
        return f"Exercise {self.exercise}, {self.verdict}: {self.text}"

    def _repr_markdown_(self) -> str:
        return f"**Exercise {self.exercise}, {self.verdict}:** {self.text}"


def waiting(exercise: str, *answers) -> Feedback | None:
    """``Feedback`` that the exercise waits for an answer, if any of ``answers`` is None."""
    if any(answer is None for answer in answers):
        return Feedback(exercise, UNANSWERED, "replace each `None` in the cell above with "
                        "your answer and run it again (the notebook runs on without it).")
    return None


def number(exercise: str, answer, truth: float, hint: str, typical: dict | None = None,
           tolerance: float = 5e-3) -> Feedback:
    """A computed number against ``truth`` (recomputed by the caller): right within
    ``tolerance``; else the hint of a ``typical`` wrong value it matches, or ``hint``."""
    try:                   # a Python or NumPy number, a 0-d array or tensor
        if isinstance(answer, (bool, str)):
            raise TypeError
        answer = float(answer)
    except (TypeError, ValueError):
        return Feedback(exercise, NOT_YET, f"the answer must be a number, got {answer!r}.")
    if abs(answer - truth) <= tolerance * max(1.0, abs(truth)):
        return Feedback(exercise, RIGHT, f"{answer:.4g} is what the data gives.")
    for value, why in (typical or {}).items():
        if abs(answer - value) <= tolerance * max(1.0, abs(value)):
            return Feedback(exercise, NOT_YET, why)
    return Feedback(exercise, NOT_YET, hint)


def prediction(exercise: str, expect: str, choices: tuple[str, str], observed: bool,
               story: str) -> Feedback:
    """An expectation against the learner's own run: ``choices[0]`` is right when
    ``observed``; ``story`` tells what the run did, with its numbers."""
    if expect not in choices:
        return Feedback(exercise, NOT_YET, f"`expect` must be {choices[0]!r} or "
                        f"{choices[1]!r}, got {expect!r}.")
    if expect == choices[0 if observed else 1]:
        return Feedback(exercise, RIGHT, f"as you expected: {story}")
    return Feedback(exercise, NOT_YET, f"your run went the other way: {story} Why might "
                    "that be? The notebook's prose above has the reason.")


def calling(exercise: str, function, *args):
    """``function(*args)``, or the ``Feedback`` that names what it raised."""
    try:
        return function(*args)
    except Exception as err:  # the learner's code: say what went wrong, never crash
        return Feedback(exercise, NOT_YET, f"calling it raised {type(err).__name__}: {err}")


# --------------------------------------------------------------------------- 01
def new_whale_share(answer, whales) -> Feedback:
    """1.1: the share of validation rows that are ``new_whale``."""
    if (told := waiting("1.1", answer)):
        return told
    truth = float(np.mean(whales.y_val == whales.new_whale_label))
    return number("1.1", answer, truth, "count the validation rows (`whales.y_val`) equal to "
                  "`whales.new_whale_label`, then divide by the number of validation rows.",
                  {100 * truth: "a share is a fraction between 0 and 1, not a percentage.",
                   float(np.mean(whales.y_train == whales.new_whale_label)):
                   "that is the share among the training rows; the question is about validation."})


def average_precision(function) -> Feedback:
    """1.2: ``function(true_id, ranked_ids)``, AP@5 of one photo, on known rankings."""
    if (told := waiting("1.2", function)):
        return told
    cases = [("w_a", ["w_a", "w_b"], 1.0, "a hit at rank 1"),
             ("w_c", ["new_whale", "w_b", "w_c", "w_d", "w_e"], 1 / 3, "a hit at rank 3"),
             ("w_z", ["w_a", "w_b", "w_c", "w_d", "w_e"], 0.0, "no hit in the top 5"),
             ("w_f", ["w_a", "w_b", "w_c", "w_d", "w_e", "w_f"], 0.0, "a hit at rank 6")]
    for true_id, ranked, truth, case in cases:
        got = calling("1.2", function, true_id, ranked)
        if isinstance(got, Feedback):
            return got
        if not isinstance(got, (int, float, np.number)) or abs(float(got) - truth) > 1e-9:
            return Feedback("1.2", NOT_YET, f"wrong for {case} (true {true_id!r}, ranked "
                            f"{ranked}): you returned {got!r}. A photo's AP@5 is 1/rank of its "
                            "true Id among the first five guesses, and 0 beyond them.")
    return Feedback("1.2", RIGHT, f"AP@5 holds for all {len(cases)} rankings tried.")


def ceiling_of_another_split(expect, whales, other) -> Feedback:
    """1.3: the ceiling of ``other`` (a data set loaded with another SPLIT) against
    ``whales``', as expected?"""
    if (told := waiting("1.3", expect, other)):
        return told
    ceilings = [float(np.mean(np.isin(w.y_val, w.y_train))) for w in (whales, other)]
    if other.split == whales.split:
        return Feedback("1.3", NOT_YET, f"both data sets use SPLIT={whales.split!r}: load "
                        "`other` with the other split.")
    return prediction("1.3", expect, ("higher", "lower"), ceilings[1] > ceilings[0],
                      f"the ceiling is {ceilings[0]:.3f} with SPLIT={whales.split!r} and "
                      f"{ceilings[1]:.3f} with SPLIT={other.split!r}.")


# --------------------------------------------------------------------------- 02
def final_gap(answer, history) -> Feedback:
    """2.1: training accuracy minus validation accuracy at the last epoch."""
    if (told := waiting("2.1", answer)):
        return told
    logs = history.history
    truth = float(logs["accuracy"][-1] - logs["val_accuracy"][-1])
    return number("2.1", answer, truth, "read `history.history['accuracy']` and "
                  "`['val_accuracy']` at the last epoch (index -1) and subtract.",
                  {-truth: "the gap is training minus validation: overfitting makes it positive."})


def dropout_at_inference(expect, first, second, training) -> Feedback:
    """2.2: two calls of the model on the same photos, with ``training`` as changed."""
    if (told := waiting("2.2", expect, first, second)):
        return told
    if not training:
        return Feedback("2.2", NOT_YET, "set `TRAINING = True` first: the exercise asks what "
                        "changes with it.")
    largest = float(np.max(np.abs(np.asarray(first) - np.asarray(second))))
    return prediction("2.2", expect, ("different", "same"), largest > 1e-6,
                      f"two calls with training=True differ by up to {largest:.3g} in a score. "
                      "In training mode each call draws new dropout masks; `predict` and "
                      "`model(x)` leave dropout out.")


def gap_logger(callback_class) -> Feedback:
    """2.3: a callback whose ``gaps`` list gets training minus validation accuracy at
    each epoch's end: known logs, then a tiny fit."""
    if (told := waiting("2.3", callback_class)):
        return told
    if not (isinstance(callback_class, type) and issubclass(callback_class, keras.callbacks.Callback)):
        return Feedback("2.3", NOT_YET, "write a class that subclasses `keras.callbacks.Callback`.")
    logger = calling("2.3", callback_class)
    if isinstance(logger, Feedback):
        return logger
    for epoch, logs in enumerate([{"accuracy": 0.9, "val_accuracy": 0.4},
                                  {"accuracy": 0.95, "val_accuracy": 0.35}]):
        if isinstance(told := calling("2.3", logger.on_epoch_end, epoch, logs), Feedback):
            return told
    gaps = list(getattr(logger, "gaps", None) or [])
    if not np.allclose(gaps, [0.5, 0.6]):
        return Feedback("2.3", NOT_YET, "after two epochs with accuracy 0.9 then 0.95 and "
                        f"val_accuracy 0.4 then 0.35, `gaps` holds {gaps}: append "
                        "`logs['accuracy'] - logs['val_accuracy']` in `on_epoch_end`.")
    fitted = callback_class()
    tiny_fit(callbacks=[fitted], epochs=2)
    if len(fitted.gaps) != 2:
        return Feedback("2.3", NOT_YET, f"a 2-epoch fit left {len(fitted.gaps)} gaps: "
                        "start from an empty list in `__init__`, one entry per epoch.")
    return Feedback("2.3", RIGHT, "it records the gap at every epoch's end, in a real fit too.")


def tiny_fit(model=None, callbacks=(), epochs: int = 2):
    """A seconds-long fit of ``model`` (by default a softmax on 4 numbers, 3 classes), with
    validation: where a learner's callback or layer meets Keras for real."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.integers(0, 3, 24)
    if model is None:
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, validation_data=(x[:8], y[:8]), epochs=epochs, verbose=0,
                     callbacks=list(callbacks))


# --------------------------------------------------------------------------- 03
def photos_per_known_whale(answer, whales) -> Feedback:
    """3.1: the mean number of training photos of a known whale."""
    if (told := waiting("3.1", answer)):
        return told
    known = whales.y_train[whales.y_train != whales.new_whale_label]
    truth = len(known) / max(1, len(np.unique(known)))
    return number("3.1", answer, truth, "count the training rows of known whales (not "
                  "`new_whale`) and divide by the number of different known whales.",
                  {len(whales.y_train) / len(np.unique(whales.y_train)):
                   "`new_whale` is not one whale: leave its rows out of both counts."})


def change_per_pixel(layer, photos) -> float:
    """Mean absolute change of the photos' pixels by ``layer`` in training mode."""
    changed = keras.ops.convert_to_numpy(layer(photos, training=True))
    return float(np.mean(np.abs(changed.astype("float32") - photos.astype("float32"))))


def stronger_rotation(expect, augmentation, stronger, photos) -> Feedback:
    """3.2: how much ``stronger`` changes the photos against ``augmentation``."""
    if (told := waiting("3.2", expect, stronger)):
        return told
    before, after = change_per_pixel(augmentation, photos), change_per_pixel(stronger, photos)
    if stronger.get_config() == augmentation.get_config():
        return Feedback("3.2", NOT_YET, "`stronger` is the notebook's augmentation: give it "
                        "another rotation first.")
    return prediction("3.2", expect, ("larger", "smaller"), after > before,
                      f"a pixel changes by {before:.1f} (of 255) on average with the "
                      f"notebook's augmentation, {after:.1f} with yours.")


def augmentation_layer(layer, photos) -> Feedback:
    """3.3: a layer that changes photos in training only, keeping their shape."""
    if (told := waiting("3.3", layer)):
        return told
    outputs = {}
    for training in (True, False):
        out = calling("3.3", lambda t=training: keras.ops.convert_to_numpy(layer(photos, training=t)))
        if isinstance(out, Feedback):
            return out
        outputs[training] = out.astype("float32")
    if outputs[True].shape != photos.shape:
        return Feedback("3.3", NOT_YET, f"photos of shape {photos.shape} came out as "
                        f"{outputs[True].shape}: an augmentation keeps the photos' shape.")
    if not np.allclose(outputs[False], photos, atol=0.5):
        return Feedback("3.3", NOT_YET, "it changes the photos at inference too: use Keras' "
                        "`Random*` layers, which act only when `training=True`.")
    if np.allclose(outputs[True], photos, atol=0.5):
        return Feedback("3.3", NOT_YET, "in training mode it left every photo unchanged.")
    return Feedback("3.3", RIGHT, "it changes photos in training, leaves them at inference, "
                    "and keeps their shape.")


# --------------------------------------------------------------------------- 04
def trainable_count(answer, model) -> Feedback:
    """4.1: how many numbers training can change in ``model`` (backbone frozen)."""
    if (told := waiting("4.1", answer)):
        return told
    truth = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return number("4.1", answer, truth, "add up the sizes of the arrays in "
                  "`model.trainable_weights` (`np.prod(w.shape)` each).",
                  {model.count_params(): "`count_params()` counts the frozen backbone too.",
                   len(model.trainable_weights): "that counts the weight arrays; count the "
                   "numbers in them."}, tolerance=0)


def frozen_or_not(expect, before, backbone) -> Feedback:
    """4.2: did one epoch of training move ``backbone``'s weights from ``before``?"""
    if (told := waiting("4.2", expect, before, backbone)):
        return told
    if not backbone.trainable_weights:
        return Feedback("4.2", NOT_YET, "nothing in `trial` is trainable yet: unfreeze the "
                        "network inside it first (`trial.layers[-1]`).")
    moved = [not np.array_equal(a, b) for a, b in zip(before, backbone.get_weights())]
    return prediction("4.2", expect, ("moved", "unchanged"), any(moved),
                      f"{sum(moved)} of the backbone's {len(moved)} weight arrays changed. "
                      "Frozen, Keras leaves a layer's weights (and its batch-normalisation "
                      "statistics) as they are; trainable, every step moves them.")


def linear_head(function) -> Feedback:
    """4.3: ``function(n_classes, n_features)``, a head with no hidden layer."""
    if (told := waiting("4.3", function)):
        return told
    head = calling("4.3", function, 3, 4)
    if isinstance(head, Feedback):
        return head
    if not isinstance(head, keras.Model):
        return Feedback("4.3", NOT_YET, f"return a Keras model, not {type(head).__name__}.")
    out = calling("4.3", lambda: keras.ops.convert_to_numpy(head(np.ones((2, 4), "float32"))))
    if isinstance(out, Feedback) or out.shape != (2, 3):
        return out if isinstance(out, Feedback) else Feedback(
            "4.3", NOT_YET, f"2 rows of 4 features gave shape {out.shape}, not (2, 3).")
    if not np.allclose(out.sum(axis=1), 1, atol=1e-4) or out.min() < 0:
        return Feedback("4.3", NOT_YET, "its outputs are not probabilities: end with a "
                        "softmax, as the student's loss expects.")
    if head.count_params() != 4 * 3 + 3:
        return Feedback("4.3", NOT_YET, f"{head.count_params()} weights for 4 features and 3 "
                        "classes: a linear head has one weight per feature and class, and a "
                        "bias per class, nothing else.")
    tiny_fit(head)
    return Feedback("4.3", RIGHT, "one softmax layer on the features: a linear probe.")


# --------------------------------------------------------------------------- 05
def backbone_passes(answer, history, whales) -> Feedback:
    """5.1: how many training photos the backbone processed in this run's training."""
    if (told := waiting("5.1", answer)):
        return told
    epochs, rows = len(history.history["loss"]), len(whales.y_train)
    return number("5.1", answer, epochs * rows, "each epoch sends every training photo, "
                  "augmented anew, through the backbone: count the epochs that ran.",
                  {rows: "that is 04's count, where the features were computed once.",
                   epochs: "that is one photo's count: all the training photos go through."},
                  tolerance=0)


def nearest_own(backbone, augmentation, photos) -> float:
    """Share of ``photos`` whose augmented copy's features are nearest (cosine) to the
    photo's own features."""
    def unit(x):
        features = keras.ops.convert_to_numpy(backbone(x, training=False))
        return features / np.linalg.norm(features, axis=1, keepdims=True)
    similarity = unit(augmentation(photos, training=True)) @ unit(photos).T
    return float(np.mean(np.argmax(similarity, axis=1) == np.arange(len(photos))))


def augmented_features(expect, backbone, augmentation, photos) -> Feedback:
    """5.2: are augmented photos' features nearest to their own photos'?"""
    if (told := waiting("5.2", expect, augmentation)):
        return told
    share = nearest_own(backbone, augmentation, photos)
    return prediction("5.2", expect, ("own", "other"), share > 0.5,
                      f"{share:.0%} of {len(photos)} augmented photos have features nearest to "
                      "their own photo's: the backbone sees them as the same picture.")


def head_validation(callback_class) -> Feedback:
    """5.3: ``callback_class(head, features, labels)`` adds the head's ``val_accuracy``
    to each epoch's logs."""
    if (told := waiting("5.3", callback_class)):
        return told
    rng = np.random.default_rng(1)
    features, labels = rng.normal(size=(20, 4)).astype("float32"), rng.integers(0, 3, 20)
    head = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    head.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    callback, logs = calling("5.3", callback_class, head, features, labels), {}
    if isinstance(callback, Feedback):
        return callback
    if isinstance(told := calling("5.3", callback.on_epoch_end, 0, logs), Feedback):
        return told
    truth = float(np.mean(np.argmax(head.predict(features, verbose=0), axis=1) == labels))
    if "val_accuracy" not in logs:
        return Feedback("5.3", NOT_YET, f"the epoch's logs hold {sorted(logs)}: put "
                        "`val_accuracy` in `logs`, where History, ReduceLROnPlateau and "
                        "EarlyStopping read it.")
    if abs(float(logs["val_accuracy"]) - truth) > 1e-6:
        return Feedback("5.3", NOT_YET, "`val_accuracy` is not the head's accuracy on the "
                        "features and labels it was given.")
    return Feedback("5.3", RIGHT, "the head's validation accuracy, in the epoch's logs.")


# --------------------------------------------------------------------------- 06
def last_improvement(answer, history) -> Feedback:
    """6.1: how much the last epoch's val_loss improved on the best before it."""
    if (told := waiting("6.1", answer)):
        return told
    losses = history.history["val_loss"]
    truth = float(min(losses[:-1]) - losses[-1]) if len(losses) > 1 else 0.0
    return number("6.1", answer, truth, "take the smallest `val_loss` before the last epoch "
                  "and subtract the last one.",
                  {-truth: "an improvement is the best before minus the last: a falling loss "
                   "gives a positive number."})


def stopped_after(losses, min_delta: float, patience: int) -> int:
    """The epochs Keras' EarlyStopping(val_loss, min_delta, patience) lets ``losses`` run."""
    best, wait = np.inf, 0
    for epoch, loss in enumerate(losses):
        wait += 1
        if loss + min_delta < best:        # beats the best by more than min_delta
            best, wait = loss, 0
        elif wait >= patience and epoch > 0:
            return epoch + 1
    return len(losses)


def other_stopping_rule(expect, trial, min_delta: float, patience: int) -> Feedback:
    """6.2: did the ``trial`` run (another patience) train longer than the notebook's rule
    (``min_delta``, ``patience``) would have let the same run?"""
    if (told := waiting("6.2", expect, trial)):
        return told
    losses = trial.history["val_loss"]
    rule = stopped_after(losses, min_delta, patience)
    return prediction("6.2", expect, ("later", "as early"), len(losses) > rule,
                      f"your run trained {len(losses)} epochs; on its own val_loss "
                      f"({', '.join(f'{x:.2f}' for x in losses)}), min_delta={min_delta} and "
                      f"patience={patience} would have stopped it after {rule}.")


def stop_at_accuracy(callback_class) -> Feedback:
    """6.3: ``callback_class(target)`` stops training once val_accuracy reaches target."""
    if (told := waiting("6.3", callback_class)):
        return told
    stopper = calling("6.3", callback_class, 0.5)
    if isinstance(stopper, Feedback):
        return stopper
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(3, activation="softmax")])
    stopper.set_model(model)
    for epoch, value, stop in ((0, 0.2, False), (1, 0.6, True)):
        model.stop_training = False
        if isinstance(told := calling("6.3", stopper.on_epoch_end, epoch,
                                      {"val_accuracy": value}), Feedback):
            return told
        if model.stop_training != stop:
            return Feedback("6.3", NOT_YET, f"with target 0.5 and val_accuracy {value}, "
                            f"`self.model.stop_training` became {model.stop_training}: set it "
                            "on the model (`self.model`), and only once the target is reached.")
    return Feedback("6.3", RIGHT, "it lets training go on below the target and stops it there.")


# --------------------------------------------------------------------------- 07
def fits_in_search(answer, search) -> Feedback:
    """7.1: how many models the fitted grid search trained."""
    if (told := waiting("7.1", answer)):
        return told
    settings = len(search.cv_results_["params"])
    truth = settings * search.n_splits_ + bool(search.refit)
    return number("7.1", answer, truth, "count one model per setting and fold, then what "
                  "`refit` adds.", {truth - 1: "GridSearchCV then refits the best setting on "
                                    "all the training rows.",
                                    settings: "each setting is trained once per fold."},
                  tolerance=0)


def more_folds(expect, search, trial, rows: int) -> Feedback:
    """7.2: the rows each fold's model trained on, ``trial`` against ``search``."""
    if (told := waiting("7.2", expect, trial)):
        return told
    folds = (search.n_splits_, trial.n_splits_)
    if folds[0] == folds[1]:
        return Feedback("7.2", NOT_YET, f"both searches use {folds[0]} folds: change `cv`.")
    seen = [rows * (k - 1) // k for k in folds]
    same = [i for i, p in enumerate(search.cv_results_["params"]) if p == trial.best_params_]
    before = search.cv_results_["mean_test_score"][same[0]] if same else search.best_score_
    return prediction("7.2", expect, ("more", "fewer"), seen[1] > seen[0],
                      f"with cv={folds[0]} each model trained on about {seen[0]} rows, with "
                      f"cv={folds[1]} on about {seen[1]}; cross-validated accuracy "
                      f"{before:.3f}, then {trial.best_score_:.3f}.")


def grid_of(grid, estimator) -> Feedback:
    """7.3: a grid of optimizer (adam, sgd) and batch_size (16, 64) for ``estimator``."""
    if (told := waiting("7.3", grid)):
        return told
    if not isinstance(grid, dict):
        return Feedback("7.3", NOT_YET, "a grid is a dict: parameter name -> list of values.")
    unknown = sorted(set(grid) - set(estimator.get_params()))
    if unknown:
        return Feedback("7.3", NOT_YET, f"{', '.join(map(repr, unknown))}: not a parameter of "
                        "the estimator (`estimator.get_params()` lists them).")
    wanted = {"optimizer": {"adam", "sgd"}, "batch_size": {16, 64}}
    for name, values in wanted.items():
        if set(grid.get(name, ())) != values:
            return Feedback("7.3", NOT_YET, f"{name!r} should take the values the exercise "
                            f"names; the grid gives {grid.get(name)!r}.")
    return Feedback("7.3", RIGHT, f"{len(grid['optimizer']) * len(grid['batch_size'])} "
                    "settings, each a parameter the estimator knows.")


# --------------------------------------------------------------------------- 08
def nearest_known_share(answer, whales, val_embeddings, train_embeddings) -> Feedback:
    """8.1: among validation photos of whales seen in training, the share whose nearest
    training photo is of the same whale."""
    if (told := waiting("8.1", answer)):
        return told
    y_val, y_train = whales.y_val, whales.y_train
    nearest = y_train[np.argmax(val_embeddings @ train_embeddings.T, axis=1)]
    known = np.isin(y_val, y_train) & (y_val != whales.new_whale_label)
    return number("8.1", answer, float(np.mean(nearest[known] == y_val[known])),
                  "find each validation photo's most similar training photo "
                  "(`val_embeddings @ train_embeddings.T`), then keep only rows of whales "
                  "that appear in training.",
                  {float(np.mean(nearest == y_val)): "count only validation rows of known "
                   "whales that appear in training."})


def new_whale_threshold(expect, threshold: float, tuned: float, similarity, whales) -> Feedback:
    """8.2: MAP@5 with ``threshold`` against the tuned threshold, both recomputed."""
    if (told := waiting("8.2", expect, threshold)):
        return told
    from whale_utils.metrics import map_at_5

    def map5(value):
        scores = np.array(similarity, dtype="float32", copy=True)
        scores[:, whales.new_whale_label] = value
        return map_at_5(whales.y_val, scores)
    if threshold == tuned:
        return Feedback("8.2", NOT_YET, "that is the tuned threshold: try another one.")
    mine, theirs = map5(threshold), map5(tuned)
    return prediction("8.2", expect, ("higher", "lower"), mine > theirs,
                      f"validation MAP@5 is {theirs:.3f} with the tuned threshold "
                      f"({tuned:.2f}) and {mine:.3f} with {threshold:.2f}.")


def cosine_similarity(function) -> Feedback:
    """8.3: ``function(a, b)``, the cosine similarity of every row of a with every row of b."""
    if (told := waiting("8.3", function)):
        return told
    a = np.array([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    b = np.array([[1.0, 0.0], [0.0, 5.0]])
    got = calling("8.3", function, a, b)
    if isinstance(got, Feedback):
        return got
    got = np.asarray(got)
    if got.shape != (3, 2):
        return Feedback("8.3", NOT_YET, f"3 rows against 2 gave shape {got.shape}, not (3, 2).")
    if np.allclose(got, a @ b.T):
        return Feedback("8.3", NOT_YET, "that is the dot product: scale each row to length 1 "
                        "first, so that only directions count.")
    if not np.allclose(got, [[1, 0], [0, 1], [0.5 ** 0.5, 0.5 ** 0.5]], atol=1e-6):
        return Feedback("8.3", NOT_YET, "vectors pointing the same way must give 1, at right "
                        "angles 0, whatever their lengths.")
    return Feedback("8.3", RIGHT, "1 for the same direction, 0 at right angles, any length.")
