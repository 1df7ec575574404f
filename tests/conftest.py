"""Shared fixtures: a small synthetic data set made once per test session."""

from pathlib import Path

import pytest

import whale_utils  # noqa: F401  (quiets TensorFlow before any test imports it)
from whale_utils.data import synthetic

REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "real-sample"


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """60 synthetic photos in the Kaggle layout."""
    return synthetic.generate(tmp_path_factory.mktemp("synthetic") / "tiny", images=60,
                              seed=3, size=0.1)


def save_run(output_dir: Path, notebook: str, right_share: float,
             compared_with: str | None = None, pixel: bool = False, n: int = 600) -> Path:
    """Evaluate and record a made-up model, as a notebook does: every notebook gets the
    same validation rows, and a model is right on its first ``right_share`` of them (in
    one fixed order), so that two models differ on exactly the rows between their shares."""
    import numpy as np

    from whale_utils import metrics
    from whale_utils.session import record

    rng = np.random.default_rng(0)
    n_classes = 40
    y_val = np.where(rng.random(n) < 0.38, 0, rng.integers(1, n_classes, n))
    y_train = np.concatenate([np.zeros(30, int), np.arange(1, n_classes)])
    right = rng.permutation(n) < round(right_share * n)
    scores = np.eye(n_classes)[np.where(right, y_val, (y_val + 7) % n_classes)]
    neighbours = np.eye(n_classes)[(y_val + 3) % n_classes] if pixel else None
    result = metrics.evaluate_labels(scores, y_val, y_train, 0, neighbours)
    history = {"loss": [2.0, 1.0, 0.5], "accuracy": [0.5, 0.8, 0.9]}
    return record.save_metrics(output_dir, notebook, result, history,
                               params={"SPLIT": "last-rows"}, extra={"parameters": {"trainable": 10}},
                               seconds=1.0, compared_with=compared_with)


def numbers_of(record) -> set[str]:
    """Every number of a metrics record, as the narrator may print it."""
    found: set[str] = set()

    def walk(value):
        if isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)
        elif isinstance(value, bool) or value is None or isinstance(value, str):
            return
        elif isinstance(value, int):
            found.add(str(value))
        else:
            found.update({f"{value:.3f}", f"{value:+.3f}", f"{value:.2f}", f"{value:.0%}"})
    walk(record)
    return found


def numbers_in(text: str) -> list[str]:
    """The numbers a sentence states (``95 %`` as ``95%``), metric names left out."""
    import re

    text = re.sub(r"MAP@5|AP@5|top-5|\bnew_whale\b", "", text)
    return [m.replace(" ", "") for m in re.findall(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?: %)?", text)]
