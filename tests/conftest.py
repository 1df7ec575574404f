"""Shared fixtures: a small synthetic data set made once per test session."""

from pathlib import Path

import pytest

import whale_utils  # noqa: F401  (quiets TensorFlow before any test imports it)
from whale_utils import synthetic

REAL_SAMPLE = Path(__file__).resolve().parents[2] / "shared" / "real-sample"


@pytest.fixture(scope="session")
def tiny_set(tmp_path_factory) -> Path:
    """60 synthetic photos in the Kaggle layout."""
    return synthetic.generate(tmp_path_factory.mktemp("synthetic") / "tiny", images=60,
                              seed=3, size=0.1)


def fake_record(notebook: str, map5: float, accuracy: float = 0.3) -> dict:
    """A metrics record as a notebook writes it, with chosen scores."""
    score = {"accuracy": accuracy, "top5": map5 + 0.05, "map5": map5}
    base = {"accuracy": 0.38, "top5": 0.42, "map5": 0.40}
    return {"notebook": notebook, "params": {"SPLIT": "seed"}, "epochs_run": 3,
            "train_accuracy": 0.9, "parameters": {"trainable": 10},
            "evaluation": {"model": score, "baseline": base, "ceiling": 0.7,
                           "model_known": score},
            "timing": {"train_seconds": 1.0}}
