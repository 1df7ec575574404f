"""The narrator: sentences about a run chosen by its numbers and intervals, never by hand."""

import numpy as np
import pytest
from conftest import numbers_in, numbers_of, save_run

from whale_utils import metrics, narrate
from whale_utils.session import record


def run(model_hits: float | None, baseline_hits: float = 0.38, n: int = 900, seed: int = 0):
    """An evaluation whose model is right on a share ``model_hits`` of the rows (``None``:
    the model is the all-new_whale baseline itself) and whose baseline (new_whale first) is
    right on ``baseline_hits``, on the same rows."""
    rng = np.random.default_rng(seed)
    n_classes, new_whale = 50, 0
    y_val = np.where(rng.random(n) < baseline_hits, new_whale, rng.integers(1, n_classes, n))
    y_train = np.concatenate([np.zeros(40, int), np.arange(1, n_classes)])
    right = rng.random(n) < (model_hits or 0)
    guesses = np.where(right, y_val, (y_val + 1) % n_classes)
    scores = np.eye(n_classes)[guesses]
    if model_hits is None:
        scores = metrics.baseline_scores(y_train, n, n_classes, new_whale)
    return metrics.evaluate_labels(scores, y_val, y_train, new_whale, neighbour_scores=scores * 0.5)


def test_model_above_tied_with_and_below_the_baseline():
    above = narrate.what_this_run_shows(run(0.70))
    assert "**beats** the all-`new_whale` baseline on MAP@5" in above
    tied = narrate.what_this_run_shows(run(None))
    assert "shows **no clear difference** from the all-`new_whale` baseline on MAP@5" in tied
    below = narrate.what_this_run_shows(run(0.10))
    assert "**falls below** the all-`new_whale` baseline on MAP@5" in below


def test_overfit_or_not_by_the_named_thresholds():
    assert "**overfits**:" in narrate.overfitting(1.0, 0.44)
    assert "**somewhat**" in narrate.overfitting(0.44 + narrate.CLOSE_FIT_GAP, 0.44)
    assert "**does not overfit**" in narrate.overfitting(0.44, 0.44)
    assert "**does not overfit**" in narrate.overfitting(0.30, 0.44)
    assert narrate.overfitting(None, 0.44) == ""
    edge = narrate.overfitting(0.44 + narrate.OVERFIT_GAP, 0.44)
    assert "**overfits**:" in edge and "0.590" in edge


def test_better_no_clear_difference_or_worse_than_the_previous_step():
    interval = {"diff": 0.05, "low": 0.02, "high": 0.08}
    assert "better than 01" in narrate.step("02", "01", interval)
    assert "no clear difference from 01" in narrate.step(
        "02", "01", {"diff": 0.012, "low": -0.01, "high": 0.034})
    assert "worse than 02" in narrate.step("03", "02", {"diff": -0.05, "low": -0.08, "high": -0.02})
    # a raw gap without an interval that excludes 0 is never called "better"
    assert narrate.verdict({"diff": 0.2, "low": -0.001, "high": 0.4}) == "no clear difference"


def test_ceiling_and_known_whales_sentences():
    result = run(0.70)
    assert "**well below the ceiling**" in narrate.against_ceiling(
        {**result, "model": {**result["model"], "accuracy": 0.1}})
    assert "**near the ceiling**" in narrate.against_ceiling(
        {**result, "model": {**result["model"], "accuracy": result["ceiling"]}})
    text = narrate.known_whales(result)
    assert f"On the {result['known_rows']} validation rows of known whales" in text
    assert "the pixel neighbour" in text


def test_student_numbers_are_labelled_as_theirs():
    result = run(0.70)
    line = narrate.student("01_overfit_baseline", result)
    assert line.startswith("The student's run") and "0.357" in line and "0.378" in line
    grid = narrate.student("07_grid_search", result, {"train": 0.99, "cross_validated": 0.31})
    assert "0.86-0.95" in grid and "0.990" in grid and "0.310" in grid
    assert narrate.student(None, result) == ""


def test_the_backbone_and_random_weights_are_said():
    block = narrate.what_this_run_shows(run(0.5), backbone_weights="none-offline",
                                        backbone_name="resnet50v2")
    assert "`resnet50v2` ran with **random weights** (`none-offline`)" in block
    imagenet = narrate.what_this_run_shows(run(0.5), backbone_weights="imagenet-package",
                                           backbone_name="efficientnet-lite0")
    assert "random weights" not in imagenet
    assert "`efficientnet-lite0` ran with ImageNet weights (`imagenet-package`)" in imagenet
    assert "backbone" not in narrate.what_this_run_shows(run(0.5)).lower()


@pytest.mark.parametrize("model_hits", [0.1, None, 0.7])
def test_every_number_in_the_block_is_a_number_of_the_result(model_hits):
    result = {k: v for k, v in run(model_hits).items() if k != "per_row"}
    block = narrate.what_this_run_shows(result, train_accuracy=0.9, notebook="02_dropout")
    allowed = numbers_of({"evaluation": result, "train_accuracy": 0.9,
                          "student": {"val_accuracy": 0.377, "baseline_accuracy": 0.378}})
    assert numbers_in(block) and set(numbers_in(block)) <= allowed


def test_a_notebook_compares_itself_with_the_one_it_builds_on(tmp_path):
    """02 asks whether dropout helped: its block compares it with 01's run on the same rows
    in the same outputs, with the paired interval; elsewhere it says what to run."""
    import pandas as pd

    save_run(tmp_path, "01_overfit_baseline", right_share=0.4)
    path = save_run(tmp_path, "02_dropout", right_share=0.6)
    mine = {k: v.to_numpy() for k, v in pd.read_csv(record.rows_path(path)).items()}
    previous, interval = record.compare_with_previous(tmp_path, "02_dropout", mine)
    assert previous == "01_overfit_baseline" and interval["map5"]["low"] > 0
    labels = mine["label"]
    result = metrics.evaluate_labels(np.eye(40)[labels], labels, np.arange(40), 0)
    text = narrate.what_this_run_shows(result, notebook="02_dropout",
                                       previous=(previous, interval))
    assert f"02 vs 01: MAP@5 {interval['map5']['diff']:+.3f}" in text and "better than 01" in text
    shorter = {k: v[:-1] for k, v in mine.items()}
    assert record.compare_with_previous(tmp_path, "02_dropout", shorter) == (previous, None)
    assert record.compare_with_previous(tmp_path / "other", "02_dropout", mine) == (previous, None)
    assert record.compare_with_previous(tmp_path, "01_overfit_baseline", mine) == (None, None)
    text = narrate.what_this_run_shows(result, notebook="02_dropout", previous=(previous, None))
    assert "Notebook 01 has no run on these validation rows" in text
