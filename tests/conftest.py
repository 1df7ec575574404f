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
