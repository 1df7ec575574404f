"""What grading adds to the notebooks' own checks: the grading profile, and hidden tests.

``GradingProfile`` is an Otter plugin: before a submission runs, it sets the grading
profile's parameters after the notebook's parameters cell (the ``smoke`` profile: a few
hundred rows, two epochs), as ``make run PROFILE=smoke`` would, so that grading never
retrains at full size. ``hidden`` is each exercise's hidden test: the notebook's own check
on other inputs. A computed answer is recomputed by the learner's own answer cell on other
rows (a number typed in from the run does not pass); a function or a class is called on
inputs the public check never tried. A prediction depends on the learner's own run: it has
its public test only.
"""

from __future__ import annotations

import ast
from types import SimpleNamespace

import nbformat
import numpy as np

try:
    from otter.plugins import AbstractOtterPlugin
except ImportError:        # the teaching tools are not installed: no grading here
    AbstractOtterPlugin = object

GRADING_PROFILE = "smoke"


def grading_parameters(notebook: str) -> dict:
    """The grading profile's parameters for ``notebook``: its data at an absolute path,
    its outputs in the submission's own folder."""
    from whale_utils.session import params, profile, registry

    values = profile.parameters(profile.load(GRADING_PROFILE), notebook)
    values["DATA_DIR"] = str((registry.NOTEBOOK_DIR / values["DATA_DIR"]).resolve())
    values["OUTPUT_DIR"] = "grading-outputs"
    return {k: v for k, v in values.items() if k in params.CHECKS}


def inject(nb: nbformat.NotebookNode, values: dict) -> nbformat.NotebookNode:
    """``nb`` with a cell setting ``values`` right after its parameters cell (papermill's
    way); a notebook without one gets it first."""
    lines = "\n".join(f"{name} = {value!r}" for name, value in values.items())
    cell = nbformat.v4.new_code_cell("# grading parameters\n" + lines,
                                     metadata={"tags": ["injected-parameters"]})
    where = next((i + 1 for i, c in enumerate(nb.cells)
                  if "parameters" in c.get("metadata", {}).get("tags", [])
                  or (c.cell_type == "code" and c.source.startswith("PROFILE = "))), 0)
    nb.cells.insert(where, cell)
    return nb


class GradingProfile(AbstractOtterPlugin):
    """Otter plugin: the grading profile's parameters in every submission before it runs."""

    def before_execution(self, submission):
        return inject(submission, grading_parameters(self.plugin_config["notebook"]))


# --------------------------------------------------------------------------- hidden tests
def answer_source(env: dict, name: str) -> str:
    """The learner's answer cell as it last ran: the last cell run that assigns ``name``."""
    for source in reversed(env.get("In", [])):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        if any(isinstance(target, ast.Name) and target.id == name
               for node in tree.body if isinstance(node, ast.Assign) for target in node.targets):
            return source
    raise LookupError(f"no cell that ran assigns `{name}`: keep the answer cell's assignment")


def rerun(env: dict, answer: str, **other) -> object:
    """The learner's answer cell run again where ``other`` replaces the run's inputs;
    returns what it assigns to ``answer``."""
    scope = {**env, **other}
    exec(answer_source(env, answer), scope)
    return scope.get(answer)


def other_rows(env: dict):
    """The run's data set with other validation rows (half of them instead of 30 %)."""
    from whale_utils import data

    return data.load_dataset(env["DATA_DIR"], n_rows=env["N_ROWS"], img_size=env["IMG_SIZE"],
                             validation_split=0.5, split=env["SPLIT"], seed=env["SEED"] + 1)


def other_history(env: dict) -> SimpleNamespace:
    """The run's history with its epochs in another order, the last one dropped."""
    logs = env["history"].history
    return SimpleNamespace(history={k: list(v)[::-1][:max(2, len(v) - 1)] for k, v in logs.items()})


def unit_rows(rng, shape) -> np.ndarray:
    rows = rng.normal(size=shape)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def hidden(exercise: str, env: dict, check: str):
    """The hidden test of ``exercise``: a ``Feedback`` of its check on other inputs."""
    from whale_utils import exercises

    test = HIDDEN[exercise]          # make assignment writes hidden tests for these only
    try:
        return test(env, check, exercises)
    except exercises.NotYet as hint:
        return exercises.Feedback(exercise, exercises.NOT_YET, f"on other inputs: {hint}")
    except Exception as err:  # noqa: BLE001 - the learner's code: a verdict, never a crash
        return exercises.Feedback(exercise, exercises.NOT_YET, "on other inputs your code "
                                  f"raised {type(err).__name__}: {exercises.shorten(err)}")


def _1_1(env, check, ex):
    whales = other_rows(env)
    return ex.new_whale_share(rerun(env, "share", whales=whales), whales)


def _1_2(env, check, ex):
    function = env["average_precision"]
    for true_id, ranked, truth in (("w_b", ["w_a", "w_b"], 0.5), ("new_whale", ["new_whale"], 1.0),
                                   ("w_e", ["a", "b", "c", "d", "w_e"], 0.2),
                                   ("w_a", [], 0.0), ("w_c", ["w_c", "w_c"], 1.0)):
        got = ex.as_number(ex.calling(function, true_id, list(ranked)))
        if not ex.close(got, truth, ex.FLOAT32):
            raise ex.NotYet(f"AP@5 of {true_id!r} ranked {ranked} is not {got!r}.")
    return ex.Feedback("1.2", ex.RIGHT, "right on other rankings too.")


def _2_1(env, check, ex):
    history = other_history(env)
    return ex.final_gap(rerun(env, "gap", history=history), history)


def _2_3(env, check, ex):
    logger = ex.calling(env["GapLogger"])
    for epoch, (train, val) in enumerate([(0.5, 0.5), (0.7, 0.2), (0.2, 0.6)]):
        ex.calling(logger.on_epoch_end, epoch, {"accuracy": train, "val_accuracy": val,
                                                "loss": 1.0, "val_loss": 1.0})
    if not np.allclose(ex.recorded_gaps(logger), [0.0, 0.5, -0.4]):
        raise ex.NotYet("other epochs' logs did not give their gaps.")
    return ex.Feedback("2.3", ex.RIGHT, "right on other epochs too.")


def _3_1(env, check, ex):
    whales = other_rows(env)
    return ex.photos_per_known_whale(rerun(env, "photos_per_whale", whales=whales), whales)


def _3_3(env, check, ex):
    return ex.augmentation_layer(env["my_augmentation"], env["whales"].x_val[:8])


def _4_1(env, check, ex):
    import keras

    frozen = keras.layers.Dense(6)
    model = keras.Sequential([keras.Input((5,)), frozen, keras.layers.Dense(2)])
    frozen.trainable = False
    return ex.trainable_count(rerun(env, "n_trainable", model=model), model)


def _4_3(env, check, ex):
    import keras

    head = ex.calling(env["linear_head"], 5, 7)
    if not isinstance(head, keras.Model) or head.count_params() != 7 * 5 + 5:
        raise ex.NotYet("for 5 classes and 7 features it is not one softmax layer.")
    return ex.Feedback("4.3", ex.RIGHT, "right for other sizes too.")


def _5_1(env, check, ex):
    history, whales = other_history(env), other_rows(env)
    return ex.backbone_passes(rerun(env, "backbone_photos", history=history,
                                    whales=whales), history, whales)


def _5_3(env, check, ex):
    return ex.head_validation(env["HeadValidation"])


def _6_1(env, check, ex):
    history = SimpleNamespace(history={"val_loss": [2.0, 1.2, 1.5, 1.1]})
    return ex.last_improvement(rerun(env, "improvement", history=history), history)


def _6_3(env, check, ex):
    from whale_utils.exercises import softmax_model

    stopper, model = ex.calling(env["StopAtAccuracy"], 0.8), softmax_model()
    stopper.set_model(model)
    for epoch, value, stop in ((0, 0.79, False), (1, 0.8, True)):
        model.stop_training = False
        ex.calling(stopper.on_epoch_end, epoch, {"val_accuracy": value})
        if model.stop_training != stop:
            raise ex.NotYet(f"with target 0.8 and val_accuracy {value}, training "
                            f"{'went on' if not model.stop_training else 'stopped'}.")
    return ex.Feedback("6.3", ex.RIGHT, "right for another target too.")


def _7_1(env, check, ex):
    from sklearn.dummy import DummyClassifier
    from sklearn.model_selection import GridSearchCV

    x, y = np.arange(30.0).reshape(-1, 1), np.tile([0, 1, 2], 10)
    search = GridSearchCV(DummyClassifier(), {"strategy": ["prior", "uniform", "stratified"]},
                          cv=3).fit(x, y)
    return ex.fits_in_search(rerun(env, "n_models", search=search), search)


def _7_3(env, check, ex):
    from sklearn.model_selection import ParameterGrid

    grid, estimator = env["grid"], env["search"].estimator
    settings = list(ParameterGrid(grid))
    for setting in settings:
        ex.calling(lambda s=setting: estimator.set_params(**s))
    if len(settings) != 4:
        raise ex.NotYet(f"the grid makes {len(settings)} settings, not 4.")
    return ex.Feedback("7.3", ex.RIGHT, "every setting is one the estimator takes.")


def _8_1(env, check, ex):
    rng = np.random.default_rng(1)
    val = unit_rows(rng, env["val_embeddings"].shape)
    train = unit_rows(rng, env["train_embeddings"].shape)
    share = rerun(env, "nearest_share", val_embeddings=val, train_embeddings=train)
    return ex.nearest_known_share(share, env["whales"], val, train)


def _8_3(env, check, ex):
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(4, 3)), rng.normal(size=(5, 3))
    got = np.asarray(ex.calling(env["cosine_similarity"], a, b))
    truth = (a / np.linalg.norm(a, axis=1, keepdims=True)) @ \
        (b / np.linalg.norm(b, axis=1, keepdims=True)).T
    if got.shape != truth.shape or not np.allclose(got, truth, atol=1e-5):
        raise ex.NotYet("on other vectors it is not their cosine similarity.")
    return ex.Feedback("8.3", ex.RIGHT, "right on other vectors too.")


HIDDEN = {"1.1": _1_1, "1.2": _1_2, "2.1": _2_1, "2.3": _2_3, "3.1": _3_1, "3.3": _3_3,
          "4.1": _4_1, "4.3": _4_3, "5.1": _5_1, "5.3": _5_3, "6.1": _6_1, "6.3": _6_3,
          "7.1": _7_1, "7.3": _7_3, "8.1": _8_1, "8.3": _8_3}
