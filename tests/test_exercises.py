"""The exercises: every solution passes its check when its notebook runs with it; a typical
wrong answer to every exercise is rejected with a hint that does not give the answer; an
unanswered exercise says so and fails nothing."""

import re
from types import SimpleNamespace

import keras
import nbformat
import numpy as np
import pytest
from keras import layers
from sklearn.dummy import DummyClassifier
from sklearn.model_selection import GridSearchCV

from whale_series import series, solutions
from whale_utils import augment, backbones, data, exercises
from whale_utils.compat import KerasClassifier
from whale_utils.session import profile, registry

NOTEBOOKS = registry.notebooks()
FEEDBACK = re.compile(r"Exercise (\d\.\d), (right|not yet|not answered)")
GOLDEN = registry.ROOT / "tests" / "golden"


def verdicts(path) -> dict[str, str]:
    """Exercise -> verdict, from the check outputs of an executed notebook."""
    found = {}
    for cell in nbformat.read(path, as_version=4).cells:
        for output in cell.get("outputs", []):
            text = output.get("data", {}).get("text/plain", "") or output.get("text", "")
            found.update(FEEDBACK.findall(text))
    return found


def exercise_ids(notebook: str) -> set[str]:
    number = str(int(notebook[:2]))
    return {f"{number}.{k}" for k in (1, 2, 3)}


@pytest.fixture(scope="module")
def solved_run():
    """Every notebook of the smoke profile, run with its solutions (about 2 minutes)."""
    return series.run_profile("smoke", jobs=2, solutions=True)


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_every_solution_passes_its_check(solved_run, notebook):
    assert verdicts(solved_run / f"{notebook}.ipynb") == dict.fromkeys(exercise_ids(notebook),
                                                                       "right")


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_unanswered_exercises_wait_and_the_notebook_runs_on(notebook):
    """The golden copies are the notebooks as a learner opens them, run by papermill (and
    re-run by nbval): every exercise says it is not answered, and the run went on."""
    path = GOLDEN / f"{notebook}.ipynb"
    assert verdicts(path) == dict.fromkeys(exercise_ids(notebook), "not answered")
    assert not [o for c in nbformat.read(path, 4).cells for o in c.get("outputs", [])
                if o.get("output_type") == "error"]


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_each_notebook_has_the_three_kinds_and_keeps_its_solutions_apart(notebook):
    nb = nbformat.read(registry.NOTEBOOK_DIR / f"{notebook}.ipynb", as_version=4)
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    kinds = re.findall(r"### Exercise \d\.\d · (compute|change and predict|build):", text)
    assert sorted(kinds) == ["build", "change and predict", "compute"]
    answers = {solutions.answer_tag(c): c.source for c in nb.cells if solutions.answer_tag(c)}
    assert set(answers) == {"answer-1", "answer-2", "answer-3"}
    assert all("None" in source for source in answers.values())
    solved = solutions.solutions_of(notebook)
    assert set(solved) == set(answers)
    assert all(solved[tag] != answers[tag] and solved[tag] not in text for tag in solved)


def test_a_solution_without_its_answer_cell_is_refused(tmp_path):
    nb = nbformat.read(registry.NOTEBOOK_DIR / f"{NOTEBOOKS[0]}.ipynb", as_version=4)
    nb.cells = [c for c in nb.cells if solutions.answer_tag(c) != "answer-2"]
    nbformat.write(nb, tmp_path / "edited.ipynb")
    with pytest.raises(ValueError, match="answer-2"):
        solutions.solved(NOTEBOOKS[0], source=tmp_path / "edited.ipynb")



def test_a_notebook_without_exercises_needs_no_solutions(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")])
    nbformat.write(nb, tmp_path / "99_example.ipynb")
    solved = solutions.solved("99_example", source=tmp_path / "99_example.ipynb")
    assert [cell.source for cell in solved.cells] == ["x = 1"]



def test_solutions_on_a_cluster_are_refused_before_any_work(monkeypatch):
    monkeypatch.setattr(series, "prepare_data", lambda *a: pytest.fail("data prepared"))
    with pytest.raises(SystemExit, match="SOLUTIONS runs here"):
        series.run_profile("smoke", solutions=True, scheduler="tcp://127.0.0.1:9")


# --------------------------------------------------------------------------- wrong answers
@pytest.fixture(scope="module")
def whales():
    settings = profile.load("smoke")
    return data.load_dataset(registry.NOTEBOOK_DIR / settings["DATA_DIR"], n_rows=200,
                             img_size=32, validation_split=0.3)


def history(**logs):
    return SimpleNamespace(history=logs)


def solution_lines(exercise: str) -> list[str]:
    """The statements of an exercise's solution (``"2.3"``: answer-3 of notebook 02)."""
    number, k = exercise.split(".")
    notebook = next(nb for nb in NOTEBOOKS if int(nb[:2]) == int(number))
    code = solutions.solutions_of(notebook)[f"answer-{k}"]
    return [line.strip() for line in code.splitlines()
            if len(line.strip()) > 12 and not line.strip().startswith(("#", "expect"))]


def rejected(feedback, *hint_words, truth=None):
    """Not passed, a hint naming ``hint_words``, no statement of the solution and (for a
    number) not the answer."""
    assert feedback.verdict == exercises.NOT_YET, feedback
    assert not feedback.passed
    for word in hint_words:
        assert word in feedback.text, feedback
    assert not [line for line in solution_lines(feedback.exercise) if line in feedback.text]
    if truth is not None:
        assert all(f"{truth:{spec}}" not in feedback.text for spec in (".2f", ".3f", ".4g"))
    return True


def test_1_1_a_percentage_is_not_a_share(whales):
    truth = float(np.mean(whales.y_val == whales.new_whale_label))
    assert rejected(exercises.new_whale_share(100 * truth, whales), "percentage", truth=truth)
    assert rejected(exercises.new_whale_share(truth + 0.2, whales), "divide", truth=truth)
    assert rejected(exercises.new_whale_share(f"{truth}", whales), "must be a number")
    assert exercises.new_whale_share(np.array(truth, dtype="float32"), whales).passed


def test_1_2_top5_accuracy_is_not_ap():
    assert rejected(exercises.average_precision(lambda true, ranked: float(true in ranked[:5])),
                    "rank 3", "1/rank")
    assert rejected(exercises.average_precision(lambda true, ranked: 1 / 0), "ZeroDivisionError")


def test_1_3_expecting_a_lower_ceiling_with_the_known_split(whales):
    other = data.load_dataset(registry.NOTEBOOK_DIR / "../data/synthetic/smoke", n_rows=200,
                              img_size=32, validation_split=0.3, split="known")
    assert rejected(exercises.ceiling_of_another_split("lower", whales, other), "other way",
                    "'known'")
    assert rejected(exercises.ceiling_of_another_split("higher", whales, whales), "other split")


def test_2_1_validation_minus_training():
    logs = history(accuracy=[0.5, 0.9], val_accuracy=[0.3, 0.35])
    assert rejected(exercises.final_gap(0.35 - 0.9, logs), "training minus validation",
                    truth=0.55)


def test_2_2_expecting_the_same_scores_in_training_mode():
    model = keras.Sequential([keras.Input((4,)), layers.Dropout(0.5, seed=1), layers.Dense(3)])
    x = np.ones((16, 4), "float32")
    first, second = model(x, training=True), model(x, training=True)
    assert rejected(exercises.dropout_at_inference("same", first, second, True), "dropout masks")
    same = model(x, training=False)
    assert rejected(exercises.dropout_at_inference("same", same, same, False), "change `TRAINING`")


def test_2_3_a_logger_of_validation_minus_training():
    class Backwards(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.gaps = []

        def on_epoch_end(self, epoch, logs=None):
            self.gaps.append(logs["val_accuracy"] - logs["accuracy"])

    assert rejected(exercises.gap_logger(Backwards), "training accuracy minus the validation")
    assert rejected(exercises.gap_logger(list), "keras.callbacks.Callback")


def test_3_1_new_whale_counted_as_a_whale(whales):
    y = whales.y_train
    known = y[y != whales.new_whale_label]
    truth = len(known) / len(set(known))
    assert rejected(exercises.photos_per_known_whale(len(y) / len(set(y)), whales),
                    "leave its rows out", truth=truth)


def test_3_2_expecting_a_90_degree_rotation_to_change_less(whales):
    mild, strong = (augment.student_augmentation(rotation=r, seed=0) for r in (10, 90))
    assert rejected(exercises.stronger_rotation("smaller", mild, strong, whales.x_train[:32]),
                    "other way", "of 255")
    assert rejected(exercises.stronger_rotation("larger", mild, mild, whales.x_train[:32]),
                    "another rotation")


def test_3_3_a_layer_that_also_changes_photos_at_inference(whales):
    assert rejected(exercises.augmentation_layer(layers.Rescaling(0.5), whales.x_train[:8]),
                    "at inference too")
    assert rejected(exercises.augmentation_layer(layers.Resizing(16, 16), whales.x_train[:8]),
                    "shape")


def test_4_1_count_params_counts_the_frozen_part():
    frozen = layers.Dense(8)
    model = keras.Sequential([keras.Input((4,)), frozen, layers.Dense(3)])
    frozen.trainable = False
    assert rejected(exercises.trainable_count(model.count_params(), model), "frozen", truth=27)
    assert rejected(exercises.trainable_count(len(model.trainable_weights), model), "arrays")


def test_4_2_expecting_an_unfrozen_network_to_stay_unchanged():
    inner = keras.Sequential([keras.Input((4,)), layers.Dense(4)])
    before = inner.get_weights()
    model = keras.Sequential([keras.Input((4,)), inner, layers.Dense(3, activation="softmax")])
    exercises.tiny_fit(model, epochs=1)
    assert rejected(exercises.frozen_or_not("unchanged", before, inner), "other way", "2 of")
    inner.trainable = False
    assert rejected(exercises.frozen_or_not("unchanged", before, inner), "unfreeze")


def test_4_3_a_head_without_softmax():
    def logits_head(n_classes, n_features):
        return keras.Sequential([keras.Input((n_features,)), layers.Dense(n_classes)])

    def hidden_head(n_classes, n_features):
        return keras.Sequential([keras.Input((n_features,)), layers.Dense(8),
                                 layers.Dense(n_classes, activation="softmax")])

    assert rejected(exercises.linear_head(logits_head), "softmax")
    assert rejected(exercises.linear_head(hidden_head), "nothing else")


def test_5_1_the_features_once_as_in_04(whales):
    logs = history(loss=[3.0, 2.0, 1.5])
    assert rejected(exercises.backbone_passes(len(whales.y_train), logs, whales), "04's count",
                    truth=3 * len(whales.y_train))


def test_5_2_expecting_augmented_features_nearest_another_photo(whales):
    weights = backbones.choose_weights("efficientnet-lite0", "auto")
    backbone = backbones.feature_extractor(weights, 32, 64)
    augmentation = augment.student_augmentation(seed=0)
    assert rejected(exercises.augmented_features("other", backbone, augmentation,
                                                 whales.x_train[:16]), "other way", "nearest")


def test_5_3_validation_accuracy_kept_out_of_the_logs():
    class Aside(keras.callbacks.Callback):
        def __init__(self, head, features, labels):
            super().__init__()
            self.head, self.features, self.labels = head, features, labels

        def on_epoch_end(self, epoch, logs=None):
            self.val_accuracy = 0.5

    assert rejected(exercises.head_validation(Aside), "put `val_accuracy` in `logs`")


def test_6_1_the_improvement_with_its_sign_flipped():
    logs = history(val_loss=[3.0, 2.5, 2.6])
    assert rejected(exercises.last_improvement(0.1, logs), "positive number")


def test_6_2_expecting_later_when_the_run_stopped_as_the_rule_would():
    trial = history(val_loss=[3.0, 3.1])
    assert rejected(exercises.other_stopping_rule("later", trial, min_delta=0.5, patience=1),
                    "other way", "stopped it after 2")


@pytest.mark.parametrize("losses, min_delta, patience", [
    ([4.02, 4.06, 4.13, 4.12], 0.5, 1), ([4.0, 3.0, 2.9, 2.8, 2.7], 0.5, 1),
    ([4.0, 3.0, 2.9, 2.8, 2.7], 0.0, 1), ([5.0, 4.0, 4.1, 3.95, 3.9, 3.9, 3.99], 0.1, 2)])
def test_the_replayed_rule_stops_where_keras_early_stopping_stops(losses, min_delta, patience):
    stopper = keras.callbacks.EarlyStopping(monitor="val_loss", min_delta=min_delta,
                                            patience=patience)
    model = keras.Sequential([keras.Input((1,)), layers.Dense(1)])
    model.stop_training = False
    stopper.set_model(model)
    stopper.on_train_begin()
    epochs = len(losses)
    for epoch, loss in enumerate(losses):
        stopper.on_epoch_end(epoch, {"val_loss": loss})
        if model.stop_training:
            epochs = epoch + 1
            break
    assert exercises.stopped_after(losses, min_delta, patience) == epochs


def test_6_3_stop_training_set_on_the_callback_not_the_model():
    class OnItself(keras.callbacks.Callback):
        def __init__(self, target):
            super().__init__()
            self.target = target

        def on_epoch_end(self, epoch, logs=None):
            if logs["val_accuracy"] >= self.target:
                self.stop_training = True

    assert rejected(exercises.stop_at_accuracy(OnItself), "self.model")


def searches(*folds):
    x, y = np.arange(40.0).reshape(-1, 1), np.tile([0, 1], 20)
    grid = {"strategy": ["prior", "most_frequent", "uniform"]}
    return [GridSearchCV(DummyClassifier(random_state=0), grid, cv=k).fit(x, y) for k in folds]


def test_7_1_forgetting_the_refit():
    search, = searches(2)
    assert rejected(exercises.fits_in_search(6, search), "refits", truth=7)
    assert rejected(exercises.fits_in_search(3, search), "once per fold", truth=7)


def test_7_2_expecting_fewer_rows_with_more_folds():
    two, four = searches(2, 4)
    assert rejected(exercises.more_folds("fewer", two, four, rows=40), "other way", "cv=4")
    assert rejected(exercises.more_folds("more", two, two, rows=40), "change `cv`")


def test_7_3_a_grid_of_names_the_estimator_does_not_have():
    estimator = KerasClassifier(model=None)
    assert rejected(exercises.grid_of({"optimizers": ["adam", "sgd"]}, estimator),
                    "'optimizers'", "get_params")
    assert rejected(exercises.grid_of({"optimizer": ["adam"], "batch_size": [16, 64]},
                                      estimator), "'optimizer'")


def test_8_1_new_whale_rows_counted(whales):
    rng = np.random.default_rng(0)
    unit = lambda x: x / np.linalg.norm(x, axis=1, keepdims=True)  # noqa: E731
    val, train = unit(rng.normal(size=(len(whales.y_val), 8))), \
        unit(rng.normal(size=(len(whales.y_train), 8)))
    nearest = whales.y_train[np.argmax(val @ train.T, axis=1)]
    everyone = float(np.mean(nearest == whales.y_val))
    assert rejected(exercises.nearest_known_share(everyone, whales, val, train), "count only")


def test_8_2_expecting_a_higher_map5_without_new_whale_first(whales):
    similarity = 0.1 * np.random.default_rng(0).random((len(whales.y_val), whales.n_classes))
    assert rejected(exercises.new_whale_threshold("higher", -1.0, 0.5, similarity, whales),
                    "other way", "MAP@5")
    assert rejected(exercises.new_whale_threshold("higher", 0.5, 0.5, similarity, whales),
                    "another one")


def test_8_3_the_dot_product_is_not_the_cosine():
    assert rejected(exercises.cosine_similarity(lambda a, b: a @ b.T), "length 1")
    assert rejected(exercises.cosine_similarity(lambda a, b: a @ b[:1]), "raised")


# --------------------------------------------------------------------------- unanswered
@pytest.mark.parametrize("check, args", [
    (exercises.new_whale_share, (None, None)), (exercises.average_precision, (None,)),
    (exercises.ceiling_of_another_split, ("higher", None, None)),
    (exercises.final_gap, (None, None)), (exercises.dropout_at_inference, (None, 1, 1, True)),
    (exercises.gap_logger, (None,)), (exercises.photos_per_known_whale, (None, None)),
    (exercises.stronger_rotation, (None, None, None, None)),
    (exercises.augmentation_layer, (None, None)), (exercises.trainable_count, (None, None)),
    (exercises.frozen_or_not, (None, [], None)), (exercises.linear_head, (None,)),
    (exercises.backbone_passes, (None, None, None)),
    (exercises.augmented_features, (None, None, None, None)),
    (exercises.head_validation, (None,)), (exercises.last_improvement, (None, None)),
    (exercises.other_stopping_rule, (None, None, 0.5, 1)),
    (exercises.stop_at_accuracy, (None,)), (exercises.fits_in_search, (None, None)),
    (exercises.more_folds, (None, None, None, 0)), (exercises.grid_of, (None, None)),
    (exercises.nearest_known_share, (None, None, None, None)),
    (exercises.new_whale_threshold, (None, None, 0.5, None, None)),
    (exercises.cosine_similarity, (None,))])
def test_an_unanswered_exercise_says_so_and_fails_nothing(check, args):
    feedback = check(*args)
    assert feedback.verdict == exercises.UNANSWERED and not feedback.passed
    assert "None" in feedback.text and feedback.exercise in feedback._repr_markdown_()
