"""The notebooks' parameters, checked once, up front, in one place.

``session.start(globals())``, a notebook's first call, runs ``check`` on each name its
parameters cell defines (type, range, a writable ``OUTPUT_DIR``) before any data is
loaded or any model is built, and keeps them for the metrics record. ``SHARED`` are
every notebook's (a profile sets them); ``LESSON_KNOBS`` are the knobs of one notebook's
lesson (02's dropout, 06's early stopping...),
whose defaults are the student's. A wrong value stops the run with a message that
names the parameter and says what to do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from whale_utils.data import RENAMED_SPLITS, SPLITS, competition, split_name

VERBOSITY = (0, 1, 2)
MONITORED = ("val_loss", "val_accuracy", "loss", "accuracy")   # what a callback can watch
MAX_IMG_SIZE = 1024      # the real photos are about 1050 px wide


class ParameterError(ValueError):
    """A shared parameter has a value the series cannot run with."""


def _integer(name: str, value, low: int, high: int | None = None, none_means: str = ""):
    """A whole number from ``low`` to ``high``; or ``None``, when ``none_means`` says what
    None stands for."""
    if value is None and none_means:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        hint = " (write it without quotes)" if isinstance(value, str) and value.strip().isdigit() else ""
        raise ParameterError(f"{name}={value!r}: must be a whole number{hint}"
                             + (f" or None ({none_means})" if none_means else ""))
    if value < low or (high is not None and value > high):
        bounds = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise ParameterError(f"{name}={value}: must be {bounds}")
    return value


def _choice(name: str, value, choices) -> object:
    if value not in choices:
        raise ParameterError(f"{name}={value!r}: must be one of {', '.join(map(repr, choices))}")
    return value


def _text(name: str, value) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ParameterError(f"{name}={value!r}: must be a non-empty string (a path or a name)")
    return value


def _number(name: str, value, low: float, high: float | None = None, example: str = "",
            high_allowed: bool = False) -> float:
    """A number from ``low`` up to ``high`` (excluded unless ``high_allowed``), or at
    least ``low`` without a ``high``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"{name}={value!r}: must be a number{example}")
    above = high is not None and (value > high if high_allowed else value >= high)
    if value < low or above:
        bounds = (f"at least {low}" if high is None else f"from {low} to {high}" if high_allowed
                  else f"from {low} up to (not including) {high}")
        raise ParameterError(f"{name}={value}: must be {bounds}{example}")
    return float(value)


def _optimizers(value) -> list[str]:
    """A non-empty list of Keras optimizer names ("adam", "sgd", ...)."""
    if not isinstance(value, (list, tuple)) or not value or not all(isinstance(v, str) for v in value):
        raise ParameterError(f"OPTIMIZERS={value!r}: must be a non-empty list of Keras optimizer "
                             'names, e.g. ["adam", "sgd"]')
    import keras

    for name in value:
        try:
            keras.optimizers.get(name)
        except ValueError:
            raise ParameterError(f"OPTIMIZERS={value!r}: Keras has no optimizer {name!r}; use "
                                 "names such as adam, sgd, adamax, nadam, rmsprop") from None
    return list(value)


def _backbones() -> tuple[str, ...]:
    from whale_utils.backbones.weights import BACKBONES

    return BACKBONES


def _validation_split(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(f"VALIDATION_SPLIT={value!r}: must be a number between 0 and 1, "
                             "e.g. 0.3 (the share of rows held out for validation)")
    if not 0 < value < 1:
        raise ParameterError(f"VALIDATION_SPLIT={value}: must be between 0 and 1 (exclusive), "
                             "e.g. 0.3")
    return float(value)


def writable_folder(name: str, folder: str | Path) -> Path:
    """Create ``folder`` if needed and prove it can be written, before any long work."""
    path = Path(folder)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".write-test-"):
            pass
    except OSError as err:
        raise ParameterError(f"{name}={str(folder)!r}: cannot write there ({err.strerror or err}); "
                             "choose a folder you can write to") from None
    return path


SHARED = {
    "DATA_DIR": _text,
    "N_ROWS": lambda name, v: _integer(name, v, 2, none_means="all rows"),
    "IMG_SIZE": lambda name, v: _integer(name, v, 32, MAX_IMG_SIZE),
    "EPOCHS": lambda name, v: _integer(name, v, 1),
    "BATCH_SIZE": lambda name, v: _integer(name, v, 1),
    "VALIDATION_SPLIT": lambda name, v: _validation_split(v),
    "SPLIT": lambda name, v: split_name(v) if v in RENAMED_SPLITS else _choice(name, v, SPLITS),
    "SEED": lambda name, v: _integer(name, v, 0, 2**32 - 1),
    "OUTPUT_DIR": _text,
    "VERBOSE": lambda name, v: _choice(name, v, VERBOSITY),
    "BACKBONE": lambda name, v: _choice(name, v, _backbones()),
    "BACKBONE_SIZE": lambda name, v: _integer(name, v, 32, MAX_IMG_SIZE,
                                              none_means="the backbone sees IMG_SIZE"),
    "BACKBONE_WEIGHTS": _text,
}

LESSON_KNOBS = {
    "DROPOUT": lambda name, v: _number(name, v, 0, 1, " (the dense layer's dropout rate, e.g. 0.3)"),
    "ROTATION": lambda name, v: _number(name, v, 0, 180, " (degrees, e.g. 10)"),
    "ZOOM": lambda name, v: _number(name, v, 0, 1, " (a fraction, e.g. 0.1)"),
    "SHIFT": lambda name, v: _number(name, v, 0, 1, " (a fraction of the side, e.g. 0.1)"),
    "MIN_DELTA": lambda name, v: _number(name, v, 0, example=" (a change of val_loss, e.g. 0.5)"),
    "MONITOR": lambda name, v: _choice(name, v, MONITORED),
    "PATIENCE": lambda name, v: _integer(name, v, 0),
    "OPTIMIZERS": lambda name, v: _optimizers(v),
    "CV_FOLDS": lambda name, v: _integer(name, v, 2),
    "TRUNK": lambda name, v: _choice(name, v, ("cnn", "backbone")),
    "MARGIN": lambda name, v: _number(name, v, 0, 1.5, " (radians, e.g. 0.6)"),
    "NEW_WHALE_THRESHOLD": lambda name, v: None if v is None else _number(
        name, v, 0, 1, " (a cosine similarity), or None (chosen on held-out training rows)",
        high_allowed=True),
}

def _profile(name: str, value) -> str | None:
    from whale_utils.session import profile

    return None if value is None else _choice(name, value, tuple(profile.names()))


# The one switch: a profile's values in place of the parameters cell's (``session.start``).
SWITCHES = {"PROFILE": _profile}

CHECKS = {**SWITCHES, **SHARED, **LESSON_KNOBS}


def check(namespace: dict) -> dict:
    """The parameters found in ``namespace`` (a notebook's ``globals()``), each
    checked; ``OUTPUT_DIR`` is created and test-written. Raises ``ParameterError``."""
    found = {name: namespace[name] for name in CHECKS if name in namespace}
    checked = {name: CHECKS[name](name, value) for name, value in found.items()}
    if "OUTPUT_DIR" in checked:
        writable_folder("OUTPUT_DIR", checked["OUTPUT_DIR"])
    if checked.get("BACKBONE") == "efficientnet-lite0":   # a missing weights package or a
        from whale_utils import backbones  # damaged file stops here

        backbones.choose_weights(checked["BACKBONE"], checked.get("BACKBONE_WEIGHTS", "auto"))
    data_dir = checked.get("DATA_DIR")
    if data_dir is not None:
        folder = data_folder(data_dir)
        if not (folder / "train.csv").is_file():
            raise ParameterError(
                f"DATA_DIR={data_dir!r}: no train.csv there (looked in {os.path.abspath(folder)}). "
                "For the synthetic data run `make data`; for the competition's photos write "
                'DATA_DIR = "kaggle" (see data/README.md)')
        checked["DATA_DIR"] = str(folder) if data_dir == competition.KAGGLE else data_dir
    return checked


def data_folder(data_dir: str) -> Path:
    """The folder ``DATA_DIR`` names; ``"kaggle"`` is located (and verified once) here,
    before any long work."""
    try:
        return competition.data_folder(data_dir)
    except competition.KaggleDataError as err:
        raise ParameterError(f"DATA_DIR={data_dir!r}: {err}") from None
