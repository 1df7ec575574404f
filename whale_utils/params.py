"""The parameters every notebook shares, checked once, up front, in one place.

    PARAMS = params.check(globals())

in a notebook's setup checks each shared name its parameters cell defines (type,
range, a writable ``OUTPUT_DIR``) before any data is loaded or any model is built, and
returns them for the metrics record. A wrong value stops the run with a message that
names the parameter and says what to do.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from whale_utils.data import RENAMED_SPLITS, SPLITS, split_name

VERBOSITY = (0, 1, 2)
MAX_IMG_SIZE = 1024      # the real photos are about 1050 px wide


class ParameterError(ValueError):
    """A shared parameter has a value the series cannot run with."""


def _integer(name: str, value, low: int, high: int | None = None, none_ok: bool = False):
    if value is None and none_ok:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        hint = " (write it without quotes)" if isinstance(value, str) and value.strip().isdigit() else ""
        raise ParameterError(f"{name}={value!r}: must be a whole number{hint}"
                             + (" or None (all rows)" if none_ok else ""))
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


CHECKS = {
    "DATA_DIR": _text,
    "N_ROWS": lambda name, v: _integer(name, v, 2, none_ok=True),
    "IMG_SIZE": lambda name, v: _integer(name, v, 32, MAX_IMG_SIZE),
    "EPOCHS": lambda name, v: _integer(name, v, 1),
    "BATCH_SIZE": lambda name, v: _integer(name, v, 1),
    "VALIDATION_SPLIT": lambda name, v: _validation_split(v),
    "SPLIT": lambda name, v: split_name(v) if v in RENAMED_SPLITS else _choice(name, v, SPLITS),
    "SEED": lambda name, v: _integer(name, v, 0, 2**32 - 1),
    "OUTPUT_DIR": _text,
    "VERBOSE": lambda name, v: _choice(name, v, VERBOSITY),
    "BACKBONE_WEIGHTS": _text,
}


def check(namespace: dict) -> dict:
    """The shared parameters found in ``namespace`` (a notebook's ``globals()``), each
    checked; ``OUTPUT_DIR`` is created and test-written. Raises ``ParameterError``."""
    found = {name: namespace[name] for name in CHECKS if name in namespace}
    checked = {name: CHECKS[name](name, value) for name, value in found.items()}
    if "OUTPUT_DIR" in checked:
        writable_folder("OUTPUT_DIR", checked["OUTPUT_DIR"])
    data_dir = checked.get("DATA_DIR")
    if data_dir is not None and not (Path(data_dir) / "train.csv").is_file():
        raise ParameterError(
            f"DATA_DIR={data_dir!r}: no train.csv there (looked in {os.path.abspath(data_dir)}). "
            "For the synthetic data run `make data`; for the real data see data/README.md")
    return checked
