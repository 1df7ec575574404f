"""The checks of the notebooks' exercises: each returns a ``Feedback``, a verdict and a hint.

A check recomputes what it needs from the data and the run in memory (never a stored
result), never states the answer, and fails nothing: an exercise left at ``None`` only
says that it waits for an answer, so the notebooks run as they are.
"""

from __future__ import annotations

import functools
import inspect
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


class NotYet(Exception):
    """Raised inside a check: the answer is not right yet, and the message says why."""


def check(exercise: str, *waits_for: str):
    """Make a function the check of ``exercise``: while an argument named in ``waits_for``
    is None it only says that it waits; a ``NotYet`` raised inside is its hint; what it
    returns is what it says of a right answer. Whatever the answer, it returns a verdict
    and never raises."""
    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def checked(*args, **kwargs) -> Feedback:
            given = signature.bind(*args, **kwargs).arguments
            if any(given[name] is None for name in waits_for):
                return Feedback(exercise, UNANSWERED, "replace each `None` in the cell above "
                                "with your answer and run it again (the notebook runs on "
                                "without it).")
            try:
                return Feedback(exercise, RIGHT, function(*args, **kwargs))
            except NotYet as hint:
                return Feedback(exercise, NOT_YET, str(hint))
            except Exception as err:  # noqa: BLE001 - an answer no hint foresaw: still a verdict
                return Feedback(exercise, NOT_YET, f"the check could not use your answer "
                                f"({type(err).__name__}: {shorten(err)}): give what the "
                                "exercise asks for, of the kind its text names.")
        checked.exercise, checked.waits_for = exercise, waits_for
        return checked
    return decorate


def shorten(err, limit: int = 160) -> str:
    """An error's message on one line, cut to ``limit`` characters."""
    text = " ".join(str(err).split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def as_number(answer) -> float:
    """``answer`` as one finite float (a Python or NumPy number, a 0-d or one-element array
    or tensor); else ``NotYet`` saying what it is."""
    if answer is None or isinstance(answer, (bool, np.bool_, str, bytes)):
        raise NotYet(f"the answer must be a number, got {shorten(repr(answer), 60)}.")
    try:
        values = np.asarray(keras.ops.convert_to_numpy(answer) if keras.ops.is_tensor(answer)
                            else answer)
    except (TypeError, ValueError):
        values = np.asarray(None)
    if values.dtype.kind not in "iuf":     # integers and floats; not text, bools, complex...
        raise NotYet(f"the answer must be a number, got {type(answer).__name__} "
                     f"{shorten(repr(answer), 60)}.")
    values = values.astype("float64")
    if values.size != 1:
        raise NotYet(f"the answer must be one number, got {values.size} values "
                     f"(shape {values.shape}).")
    value = float(values.reshape(()))
    if not np.isfinite(value):
        raise NotYet(f"the answer is {value}: a computation divided by zero or read an empty "
                     "array; check each step.")
    return value


# A float32 computation rounds each step to about 6e-8 of its size: 1e-6 leaves room for a
# few steps of it, and still tells 1/3 from 0.33.
FLOAT32 = 1e-6


def close(answer: float, truth: float, tolerance: float) -> bool:
    return abs(answer - truth) <= tolerance * max(1.0, abs(truth))


def number(answer, truth: float, hint: str, typical: dict | None = None,
           tolerance: float = 5e-3) -> str:
    """A computed number against ``truth`` (recomputed by the caller), right within
    ``tolerance`` (never tighter than float32 allows); else ``NotYet`` with the hint of a
    ``typical`` wrong value it matches, or ``hint``."""
    answer, tolerance = as_number(answer), max(tolerance, FLOAT32)
    if close(answer, truth, tolerance):
        return f"{answer:.4g} is what the data gives."
    for value, why in (typical or {}).items():
        if close(answer, value, tolerance):
            raise NotYet(why)
    raise NotYet(hint)


def prediction(expect: str, choices: tuple[str, str], observed: bool, story: str) -> str:
    """An expectation against the learner's own run: ``choices[0]`` is right when
    ``observed``; ``story`` tells what the run did, with its numbers."""
    if not isinstance(expect, str) or expect not in choices:
        raise NotYet(f"`expect` must be {choices[0]!r} or {choices[1]!r}, got "
                     f"{shorten(repr(expect), 60)}.")
    if expect != choices[0 if observed else 1]:
        raise NotYet(f"your run went the other way: {story} Why might that be? The "
                     "notebook's prose above has the reason.")
    return f"as you expected: {story}"


def calling(function, *args):
    """``function(*args)`` of the learner's code; what it raises becomes the hint."""
    try:
        return function(*args)
    except Exception as err:  # the learner's code: say what went wrong, never crash
        raise NotYet(f"calling it raised {type(err).__name__}: {err}") from None


def softmax_model(n_features: int = 4, n_classes: int = 3) -> keras.Model:
    """A softmax layer on a few numbers: the smallest model a callback can meet."""
    return keras.Sequential([keras.Input((n_features,)),
                             keras.layers.Dense(n_classes, activation="softmax")])


def tiny_fit(model=None, callbacks=(), epochs: int = 2):
    """A seconds-long fit, with validation, of ``model`` (by default ``softmax_model``):
    where a learner's callback or layer meets Keras for real."""
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(24, 4)).astype("float32"), rng.integers(0, 3, 24)
    model = softmax_model() if model is None else model
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model.fit(x, y, validation_data=(x[:8], y[:8]), epochs=epochs, verbose=0,
                     callbacks=list(callbacks))


def callback_class(candidate) -> None:
    """``NotYet`` unless ``candidate`` is a subclass of Keras' ``Callback``."""
    if not (isinstance(candidate, type) and issubclass(candidate, keras.callbacks.Callback)):
        raise NotYet("write a class that subclasses `keras.callbacks.Callback`.")


# --------------------------------------------------------------------------- 01
@check("1.1", "answer")
def new_whale_share(answer, whales) -> str:
    """1.1: the share of validation rows that are ``new_whale``."""
    truth = float(np.mean(whales.y_val == whales.new_whale_label))
    return number(answer, truth, "count the validation rows (`whales.y_val`) equal to "
                  "`whales.new_whale_label`, then divide by the number of validation rows.",
                  {100 * truth: "a share is a fraction between 0 and 1, not a percentage.",
                   float(np.mean(whales.y_train == whales.new_whale_label)):
                   "that is the share among the training rows; the question is about validation."})


@check("1.2", "function")
def average_precision(function) -> str:
    """1.2: ``function(true_id, ranked_ids)``, AP@5 of one photo, on known rankings."""
    cases = [("w_a", ["w_a", "w_b"], 1.0, "a hit at rank 1"),
             ("w_c", ["new_whale", "w_b", "w_c", "w_d", "w_e"], 1 / 3, "a hit at rank 3"),
             ("w_z", ["w_a", "w_b", "w_c", "w_d", "w_e"], 0.0, "no hit in the top 5"),
             ("w_f", ["w_a", "w_b", "w_c", "w_d", "w_e", "w_f"], 0.0, "a hit at rank 6")]
    if not callable(function):
        raise NotYet(f"`average_precision` must be a function, got {type(function).__name__}.")
    for true_id, ranked, truth, case in cases:
        got = calling(function, true_id, list(ranked))
        if not close(as_number(got), truth, FLOAT32):
            raise NotYet(f"wrong for {case} (true {true_id!r}, ranked {ranked}): you returned "
                         f"{shorten(repr(got), 60)}. A photo's AP@5 is 1/rank of its true Id "
                         "among the first five guesses, and 0 beyond them.")
    return f"AP@5 holds for all {len(cases)} rankings tried."


@check("1.3", "expect", "other")
def ceiling_of_another_split(expect, whales, other) -> str:
    """1.3: the ceiling of ``other`` (a data set loaded with another SPLIT) against
    ``whales``', as expected?"""
    if other.split == whales.split:
        raise NotYet(f"both data sets use SPLIT={whales.split!r}: load `other` with the other "
                     "split.")
    ceilings = [float(np.mean(np.isin(w.y_val, w.y_train))) for w in (whales, other)]
    return prediction(expect, ("higher", "lower"), ceilings[1] > ceilings[0],
                      f"the ceiling is {ceilings[0]:.3f} with SPLIT={whales.split!r} and "
                      f"{ceilings[1]:.3f} with SPLIT={other.split!r}.")


# --------------------------------------------------------------------------- 02
@check("2.1", "answer")
def final_gap(answer, history) -> str:
    """2.1: training accuracy minus validation accuracy at the last epoch."""
    logs = history.history
    truth = float(logs["accuracy"][-1] - logs["val_accuracy"][-1])
    return number(answer, truth, "read `history.history['accuracy']` and `['val_accuracy']` "
                  "at the last epoch (index -1) and subtract.",
                  {-truth: "the gap is training minus validation: overfitting makes it positive."})


@check("2.2", "expect", "first", "second")
def dropout_at_inference(expect, first, second, training) -> str:
    """2.2: two calls of the model on the same photos, with ``training`` as changed."""
    if training is not True:
        raise NotYet("change `TRAINING` to True first, as the exercise says: it asks what "
                     "changes then.")
    first, second = (np.asarray(keras.ops.convert_to_numpy(x), dtype="float32")
                     for x in (first, second))
    if first.shape != second.shape or not first.size:
        raise NotYet(f"`first` and `second` must be the model's scores for the same photos, "
                     f"got shapes {first.shape} and {second.shape}: keep the cell's two calls.")
    largest = float(np.max(np.abs(first - second)))
    return prediction(expect, ("different", "same"), largest > 1e-6,
                      f"two calls with training=True differ by up to {largest:.3g} in a score. "
                      "In training mode each call draws new dropout masks; `predict` and "
                      "`model(x)` leave dropout out.")


@check("2.3", "logger_class")
def gap_logger(logger_class) -> str:
    """2.3: a callback whose ``gaps`` list gets training minus validation accuracy at
    each epoch's end: known logs, then a tiny fit."""
    callback_class(logger_class)
    logger = calling(logger_class)
    for epoch, logs in enumerate([{"accuracy": 0.9, "val_accuracy": 0.4},
                                  {"accuracy": 0.95, "val_accuracy": 0.35}]):
        calling(logger.on_epoch_end, epoch, logs)
    gaps = recorded_gaps(logger)
    if len(gaps) != 2:
        raise NotYet(f"after two epochs `gaps` holds {len(gaps)} value(s), {gaps}: start from "
                     "an empty list in `__init__` and add one gap at each epoch's end.")
    if not np.allclose(gaps, [0.5, 0.6]):
        raise NotYet("after two epochs with accuracy 0.9 then 0.95 and val_accuracy 0.4 then "
                     f"0.35, `gaps` holds {gaps}: at each epoch's end, add the training "
                     "accuracy minus the validation accuracy, both read from the epoch's logs.")
    fitted = calling(logger_class)
    calling(lambda: tiny_fit(callbacks=[fitted], epochs=2))
    if len(recorded_gaps(fitted)) != 2:
        raise NotYet(f"a 2-epoch fit left {len(recorded_gaps(fitted))} gaps: start from an "
                     "empty list in `__init__`, one entry per epoch.")
    return "it records the gap at every epoch's end, in a real fit too."


def recorded_gaps(logger) -> list[float]:
    """The logger's ``gaps`` as numbers; ``NotYet`` when it has none or they are not numbers."""
    gaps = getattr(logger, "gaps", None)
    if gaps is None:
        raise NotYet("the callback has no `gaps` attribute: create it in `__init__` "
                     "(`self.gaps = []`).")
    try:
        return [as_number(gap) for gap in gaps]
    except (NotYet, TypeError) as err:
        raise NotYet(f"`gaps` must be a list of numbers, one per epoch ({err})") from None


# --------------------------------------------------------------------------- 03
@check("3.1", "answer")
def photos_per_known_whale(answer, whales) -> str:
    """3.1: the mean number of training photos of a known whale."""
    known = whales.y_train[whales.y_train != whales.new_whale_label]
    return number(answer, len(known) / max(1, len(np.unique(known))), "count the training "
                  "rows of known whales (not `new_whale`) and divide by the number of "
                  "different known whales.",
                  {len(whales.y_train) / len(np.unique(whales.y_train)):
                   "`new_whale` is not one whale: leave its rows out of both counts."})


def change_per_pixel(layer, photos) -> float:
    """Mean absolute change of the photos' pixels by ``layer`` in training mode."""
    changed = keras.ops.convert_to_numpy(layer(photos, training=True))
    return float(np.mean(np.abs(changed.astype("float32") - photos.astype("float32"))))


@check("3.2", "expect", "stronger")
def stronger_rotation(expect, augmentation, stronger, photos) -> str:
    """3.2: how much ``stronger`` changes the photos against ``augmentation``."""
    if stronger.get_config() == augmentation.get_config():
        raise NotYet("`stronger` is the notebook's augmentation: give it another rotation first.")
    before, after = change_per_pixel(augmentation, photos), change_per_pixel(stronger, photos)
    return prediction(expect, ("larger", "smaller"), after > before,
                      f"a pixel changes by {before:.1f} (of 255) on average with the "
                      f"notebook's augmentation, {after:.1f} with yours.")


@check("3.3", "layer")
def augmentation_layer(layer, photos) -> str:
    """3.3: a layer that changes photos in training only, keeping their shape."""
    out = {training: calling(lambda t=training: keras.ops.convert_to_numpy(
        layer(photos, training=t))).astype("float32") for training in (True, False)}
    if out[True].shape != photos.shape:
        raise NotYet(f"photos of shape {photos.shape} came out as {out[True].shape}: an "
                     "augmentation keeps the photos' shape.")
    if not np.allclose(out[False], photos, atol=0.5):
        raise NotYet("it changes the photos at inference too: use Keras' `Random*` layers, "
                     "which act only when `training=True`.")
    if np.allclose(out[True], photos, atol=0.5):
        raise NotYet("in training mode it left every photo unchanged.")
    return "it changes photos in training, leaves them at inference, and keeps their shape."


# --------------------------------------------------------------------------- 04
@check("4.1", "answer")
def trainable_count(answer, model) -> str:
    """4.1: how many numbers training can change in ``model`` (backbone frozen)."""
    truth = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    return number(answer, truth, "add up the sizes of the arrays in `model.trainable_weights` "
                  "(`np.prod(w.shape)` each).",
                  {model.count_params(): "`count_params()` counts the frozen backbone too.",
                   len(model.trainable_weights): "that counts the weight arrays; count the "
                   "numbers in them."}, tolerance=0)


@check("4.2", "expect", "before", "backbone")
def frozen_or_not(expect, before, backbone) -> str:
    """4.2: did one epoch of training move ``backbone``'s weights from ``before``?"""
    if not backbone.trainable_weights:
        raise NotYet("nothing in `trial` is trainable yet: unfreeze the network inside it "
                     "first (`trial.layers[-1]`).")
    moved = [not np.array_equal(a, b) for a, b in zip(before, backbone.get_weights())]
    return prediction(expect, ("moved", "unchanged"), any(moved),
                      f"{sum(moved)} of the backbone's {len(moved)} weight arrays changed. "
                      "Frozen, Keras leaves a layer's weights (and its batch-normalisation "
                      "statistics) as they are; trainable, every step moves them.")


@check("4.3", "function")
def linear_head(function) -> str:
    """4.3: ``function(n_classes, n_features)``, a head with no hidden layer."""
    head = calling(function, 3, 4)
    if not isinstance(head, keras.Model):
        raise NotYet(f"return a Keras model, not {type(head).__name__}.")
    out = calling(lambda: keras.ops.convert_to_numpy(head(np.ones((2, 4), "float32"))))
    if out.shape != (2, 3):
        raise NotYet(f"2 rows of 4 features gave shape {out.shape}, not (2, 3).")
    if not np.allclose(out.sum(axis=1), 1, atol=1e-4) or out.min() < 0:
        raise NotYet("its outputs are not probabilities: end with a softmax, as the "
                     "student's loss expects.")
    if head.count_params() != 4 * 3 + 3:
        raise NotYet(f"{head.count_params()} weights for 4 features and 3 classes: a linear "
                     "head has one weight per feature and class, and a bias per class, "
                     "nothing else.")
    calling(tiny_fit, head)
    return "one softmax layer on the features: a linear probe."


# --------------------------------------------------------------------------- 05
@check("5.1", "answer")
def backbone_passes(answer, history, whales) -> str:
    """5.1: how many training photos the backbone processed in this run's training."""
    epochs, rows = len(history.history["loss"]), len(whales.y_train)
    return number(answer, epochs * rows, "each epoch sends every training photo, augmented "
                  "anew, through the backbone: count the epochs that ran.",
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


@check("5.2", "expect", "augmentation")
def augmented_features(expect, backbone, augmentation, photos) -> str:
    """5.2: are augmented photos' features nearest to their own photos'?"""
    share = nearest_own(backbone, augmentation, photos)
    return prediction(expect, ("own", "other"), share > 0.5,
                      f"{share:.0%} of {len(photos)} augmented photos have features nearest to "
                      "their own photo's: the backbone sees them as the same picture.")


@check("5.3", "validation_class")
def head_validation(validation_class) -> str:
    """5.3: ``validation_class(head, features, labels)`` adds the head's ``val_accuracy``
    to each epoch's logs."""
    callback_class(validation_class)
    rng = np.random.default_rng(1)
    features, labels = rng.normal(size=(20, 4)).astype("float32"), rng.integers(0, 3, 20)
    head, logs = softmax_model(), {}
    head.compile(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    calling(validation_class(head, features, labels).on_epoch_end, 0, logs)
    if "val_accuracy" not in logs:
        raise NotYet(f"the epoch's logs hold {sorted(logs)}: put `val_accuracy` in `logs`, "
                     "where History, ReduceLROnPlateau and EarlyStopping read it.")
    truth = float(np.mean(np.argmax(head.predict(features, verbose=0), axis=1) == labels))
    if abs(float(logs["val_accuracy"]) - truth) > 1e-6:
        raise NotYet("`val_accuracy` is not the head's accuracy on the features and labels "
                     "it was given.")
    return "the head's validation accuracy, in the epoch's logs."


# --------------------------------------------------------------------------- 06
@check("6.1", "answer")
def last_improvement(answer, history) -> str:
    """6.1: how much the last epoch's val_loss improved on the best before it."""
    losses = history.history["val_loss"]
    truth = float(min(losses[:-1]) - losses[-1]) if len(losses) > 1 else 0.0
    return number(answer, truth, "take the smallest `val_loss` before the last epoch and "
                  "subtract the last one.", {-truth: "an improvement is the best before minus "
                                             "the last: a falling loss gives a positive number."})


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


@check("6.2", "expect", "trial")
def other_stopping_rule(expect, trial, min_delta: float, patience: int) -> str:
    """6.2: did the ``trial`` run (another patience) train longer than the notebook's rule
    (``min_delta``, ``patience``) would have let the same run?"""
    losses = trial.history["val_loss"]
    rule = stopped_after(losses, min_delta, patience)
    return prediction(expect, ("later", "as early"), len(losses) > rule,
                      f"your run trained {len(losses)} epochs; on its own val_loss "
                      f"({', '.join(f'{x:.2f}' for x in losses)}), min_delta={min_delta} and "
                      f"patience={patience} would have stopped it after {rule}.")


@check("6.3", "stopper_class")
def stop_at_accuracy(stopper_class) -> str:
    """6.3: ``stopper_class(target)`` stops training once val_accuracy reaches target."""
    callback_class(stopper_class)
    stopper, model = calling(stopper_class, 0.5), softmax_model()
    stopper.set_model(model)
    for epoch, value, stop in ((0, 0.2, False), (1, 0.6, True)):
        model.stop_training = False
        calling(stopper.on_epoch_end, epoch, {"val_accuracy": value})
        if model.stop_training != stop:
            raise NotYet(f"with target 0.5 and val_accuracy {value}, `self.model.stop_training` "
                         f"became {model.stop_training}: set it on the model (`self.model`), "
                         "and only once the target is reached.")
    return "it lets training go on below the target and stops it there."


# --------------------------------------------------------------------------- 07
@check("7.1", "answer")
def fits_in_search(answer, search) -> str:
    """7.1: how many models the fitted grid search trained."""
    settings = len(search.cv_results_["params"])
    truth = settings * search.n_splits_ + bool(search.refit)
    return number(answer, truth, "count one model per setting and fold, then what `refit` "
                  "adds.", {truth - 1: "GridSearchCV then refits the best setting on all the "
                            "training rows.", settings: "each setting is trained once per fold."},
                  tolerance=0)


@check("7.2", "expect", "trial")
def more_folds(expect, search, trial, rows: int) -> str:
    """7.2: the rows each fold's model trained on, ``trial`` against ``search``."""
    folds = (search.n_splits_, trial.n_splits_)
    if folds[0] == folds[1]:
        raise NotYet(f"both searches use {folds[0]} folds: change `cv`.")
    seen = [rows * (k - 1) // k for k in folds]
    same = [i for i, p in enumerate(search.cv_results_["params"]) if p == trial.best_params_]
    before = search.cv_results_["mean_test_score"][same[0]] if same else search.best_score_
    return prediction(expect, ("more", "fewer"), seen[1] > seen[0],
                      f"with cv={folds[0]} each model trained on about {seen[0]} rows, with "
                      f"cv={folds[1]} on about {seen[1]}; cross-validated accuracy "
                      f"{before:.3f}, then {trial.best_score_:.3f}.")


@check("7.3", "grid")
def grid_of(grid, estimator) -> str:
    """7.3: a grid of optimizer (adam, sgd) and batch_size (16, 64) for ``estimator``."""
    if not isinstance(grid, dict):
        raise NotYet("a grid is a dict: parameter name -> list of values.")
    unknown = sorted(set(grid) - set(estimator.get_params()))
    if unknown:
        raise NotYet(f"{', '.join(map(repr, unknown))}: not a parameter of the estimator "
                     "(`estimator.get_params()` lists them).")
    for name, values in {"optimizer": {"adam", "sgd"}, "batch_size": {16, 64}}.items():
        if set(grid.get(name, ())) != values:
            raise NotYet(f"{name!r} should take the values the exercise names; the grid "
                         f"gives {grid.get(name)!r}.")
    return "4 settings, each a parameter the estimator knows."


# --------------------------------------------------------------------------- 08
@check("8.1", "answer")
def nearest_known_share(answer, whales, val_embeddings, train_embeddings) -> str:
    """8.1: among validation photos of whales seen in training, the share whose nearest
    training photo is of the same whale."""
    y_val, y_train = whales.y_val, whales.y_train
    nearest = y_train[np.argmax(val_embeddings @ train_embeddings.T, axis=1)]
    known = np.isin(y_val, y_train) & (y_val != whales.new_whale_label)
    return number(answer, float(np.mean(nearest[known] == y_val[known])),
                  "find each validation photo's most similar training photo "
                  "(`val_embeddings @ train_embeddings.T`), then keep only rows of whales "
                  "that appear in training.",
                  {float(np.mean(nearest == y_val)): "count only validation rows of known "
                   "whales that appear in training."})


@check("8.2", "expect", "threshold")
def new_whale_threshold(expect, threshold: float, tuned: float, similarity, whales) -> str:
    """8.2: MAP@5 with ``threshold`` against the tuned threshold, both recomputed."""
    from whale_utils.metrics import map_at_5

    threshold = as_number(threshold)
    if threshold == tuned:
        raise NotYet("that is the tuned threshold: try another one.")

    def map5(value):
        scores = np.array(similarity, dtype="float32", copy=True)
        scores[:, whales.new_whale_label] = value
        return map_at_5(whales.y_val, scores)
    mine, theirs = map5(threshold), map5(tuned)
    return prediction(expect, ("higher", "lower"), mine > theirs,
                      f"validation MAP@5 is {theirs:.3f} with the tuned threshold "
                      f"({tuned:.2f}) and {mine:.3f} with {threshold:.2f}.")


@check("8.3", "function")
def cosine_similarity(function) -> str:
    """8.3: ``function(a, b)``, the cosine similarity of every row of a with every row of b."""
    a = np.array([[3.0, 0.0], [0.0, 2.0], [1.0, 1.0]])
    b = np.array([[1.0, 0.0], [0.0, 5.0]])
    got = np.asarray(calling(function, a, b))
    if got.shape != (3, 2):
        raise NotYet(f"3 rows against 2 gave shape {got.shape}, not (3, 2).")
    if np.allclose(got, a @ b.T):
        raise NotYet("that is the dot product: scale each row to length 1 first, so that only "
                     "directions count.")
    if not np.allclose(got, [[1, 0], [0, 1], [0.5 ** 0.5, 0.5 ** 0.5]], atol=1e-6):
        raise NotYet("vectors pointing the same way must give 1, at right angles 0, whatever "
                     "their lengths.")
    return "1 for the same direction, 0 at right angles, any length."
