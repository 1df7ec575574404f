"""Answers nobody wrote: whatever a learner puts in an answer cell, every exercise's check
returns a verdict with a hint and never raises (Hypothesis draws the answers); a right
number in float32, as a NumPy scalar or as a tensor is right."""

import inspect
from types import SimpleNamespace

import hypothesis.extra.numpy as hnp
import keras
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from keras import layers
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV

from whale_utils import augment, data, exercises
from whale_utils.compat import KerasClassifier
from whale_utils.session import profile, registry

CHECKS = sorted((f for f in vars(exercises).values() if hasattr(f, "waits_for")),
                key=lambda f: f.exercise)


def raising(*args, **kwargs):
    raise RuntimeError("a learner's bug")


class Empty:
    pass


class NoMethods(keras.callbacks.Callback):
    pass


class BrokenInit(keras.callbacks.Callback):
    def __init__(self, *args):
        raise ValueError("a learner's __init__")


class GapsOfThree(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.gaps = [0.0]

    def on_epoch_end(self, epoch, logs=None):
        self.gaps.append(logs["accuracy"] - logs["val_accuracy"])


ODD = [None, "", "0.5", "higher", "lower", "different", "same", "larger", "more", "later",
       "own", "moved", "unchanged", float("nan"), float("inf"), -float("inf"), [], [1, 2],
       {}, {"optimizer": ["adam", "sgd"], "batch_size": [16, 64]}, {"optimizer": [[1]]},
       (), Empty, Empty(), NoMethods, BrokenInit, GapsOfThree, raising,
       lambda *a, **k: "x", lambda *a, **k: None, lambda *a, **k: np.ones((2, 2)),
       lambda *a, **k: keras.layers.Dense(2), np.float32(0.5), np.array([]), True,
       np.bool_(True), object(), layers.Rescaling(0.5), layers.Dense(3),
       keras.ops.ones((2, 3)), keras.ops.convert_to_tensor(0.25)]
ANSWERS = st.one_of(
    st.sampled_from(ODD), st.floats(), st.integers(), st.text(max_size=12),
    hnp.arrays(hnp.scalar_dtypes(), hnp.array_shapes(min_dims=0, max_dims=3, max_side=4)),
    st.lists(st.floats(), max_size=4), st.lists(st.text(max_size=3), max_size=3))


@pytest.fixture(scope="module")
def context():
    """Everything a check takes besides the learner's answers, as the notebooks give it."""
    settings_ = profile.load("smoke")
    folder = registry.NOTEBOOK_DIR / settings_["DATA_DIR"]
    whales = data.load_dataset(folder, n_rows=200, img_size=32, validation_split=0.3)
    other = data.load_dataset(folder, n_rows=200, img_size=32, validation_split=0.3,
                              split="known")
    frozen = layers.Dense(8)
    model = keras.Sequential([keras.Input((4,)), frozen, layers.Dense(3)])
    frozen.trainable = False
    backbone = keras.Sequential([keras.Input((32, 32, 3)), layers.Rescaling(1 / 255),
                                 layers.Conv2D(4, 3), layers.GlobalAveragePooling2D()])
    x, y = np.arange(40.0).reshape(-1, 1), np.tile([0, 1], 20)
    search = GridSearchCV(DummyClassifier(random_state=0),
                          {"strategy": ["prior", "most_frequent"]}, cv=2).fit(x, y)
    rng = np.random.default_rng(0)

    def unit(v):
        return v / np.linalg.norm(v, axis=1, keepdims=True)
    return {"whales": whales, "other": other, "model": model, "backbone": backbone,
            "history": SimpleNamespace(history={"accuracy": [0.5, 0.9], "val_accuracy": [0.3, 0.4],
                                                "loss": [2.0, 1.0], "val_loss": [2.5, 2.2]}),
            "training": True, "photos": whales.x_train[:8],
            "augmentation": augment.student_augmentation(seed=0), "search": search,
            "rows": 40, "estimator": KerasClassifier(model=None), "min_delta": 0.5,
            "patience": 1, "tuned": 0.5,
            "similarity": rng.random((len(whales.y_val), whales.n_classes)).astype("float32"),
            "val_embeddings": unit(rng.normal(size=(len(whales.y_val), 8))),
            "train_embeddings": unit(rng.normal(size=(len(whales.y_train), 8)))}


def test_every_exercise_has_its_check_here():
    assert [f.exercise for f in CHECKS] == [f"{n}.{k}" for n in range(1, 9) for k in (1, 2, 3)]


@pytest.mark.parametrize("check", CHECKS, ids=lambda f: f.exercise)
@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(draw=st.data())
def test_any_answer_gets_a_verdict_and_a_hint_never_an_error(check, context, draw):
    given_ = {name: (draw.draw(ANSWERS, label=name) if name in check.waits_for
                     else context[name])
              for name in inspect.signature(check).parameters}
    feedback = check(**given_)
    assert isinstance(feedback, exercises.Feedback) and feedback.exercise == check.exercise
    assert feedback.verdict in (exercises.RIGHT, exercises.NOT_YET, exercises.UNANSWERED)
    assert isinstance(feedback.text, str) and len(feedback.text) > 10


@pytest.mark.parametrize("as_given", [np.float32, np.float64, np.array, keras.ops.convert_to_tensor,
                                      lambda v: np.array([v], "float32"), float])
def test_a_right_number_is_right_in_any_numeric_type(context, as_given):
    whales = context["whales"]
    truth = float(np.mean(whales.y_val == whales.new_whale_label))
    assert exercises.new_whale_share(as_given(truth), whales).passed


@pytest.mark.parametrize("kind", [np.float32, np.float16, float, keras.ops.convert_to_tensor])
def test_a_right_ap_at_5_returned_in_float32_is_right(kind):
    def average_precision(true_id, ranked):
        top = list(ranked)[:5]
        return kind(1.0 / (top.index(true_id) + 1) if true_id in top else 0.0)
    feedback = exercises.average_precision(average_precision)
    assert feedback.passed == (kind is not np.float16), feedback.text   # 1/3 in float16: 3e-4 off


def test_a_gap_logger_with_gaps_of_the_wrong_length_gets_a_hint():
    feedback = exercises.gap_logger(GapsOfThree)
    assert feedback.verdict == exercises.NOT_YET
    assert "holds 3 value(s)" in feedback.text and "empty list in `__init__`" in feedback.text


@pytest.mark.parametrize("answer, says", [
    (float("nan"), "nan"), (np.ones(3), "one number, got 3 values"), ("0.5", "must be a number"),
    ([[0.1, 0.2]], "one number, got 2 values")])
def test_a_number_that_is_not_one_says_what_it_is(context, answer, says):
    feedback = exercises.final_gap(answer, context["history"])
    assert feedback.verdict == exercises.NOT_YET and says in feedback.text
