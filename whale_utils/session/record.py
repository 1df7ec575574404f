"""What each notebook records through ``session``: library versions, its metrics as JSON
and its per-row validation results beside them, for the cross-notebook report (``report``)."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

import pandas as pd

from whale_utils import backend, data, metrics, narrate
from whale_utils.session import registry
from whale_utils.training import tensorflow_threads

LIBRARIES = ("tensorflow-cpu", "tensorflow", "keras", "jax", "jaxlib", "torch", "scikeras",
             "scikit-learn", "numpy", "pandas", "pillow")


def versions() -> dict[str, str]:
    """Python and the installed versions of the libraries the series depends on."""
    found = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return found


def print_versions() -> None:
    """The versions, and the Keras backend this notebook runs on."""
    print("  ".join(f"{name} {version}" for name, version in versions().items()))
    print(f"Keras backend: {backend.name()}")


def save_metrics(output_dir: str | Path, notebook: str, result: dict, history=None,
                 params: dict | None = None, extra: dict | None = None,
                 seconds: float | None = None, compared_with: str | None = None) -> Path:
    """Write ``OUTPUT_DIR/metrics/<notebook>.json`` for the cross-model report, and the
    per-row validation results (AP@5, top-1 hit) beside it as ``<notebook>.rows.csv``.

    ``seconds`` is the training time when ``history`` does not carry it. The notebook's
    title, model and the step it builds on (``compared_with``, which the report compares
    it with) come from its front matter (``registry``) unless given.
    """
    logs = getattr(history, "history", history) or {}
    evaluation = {k: v for k, v in result.items() if k != "per_row"}
    about = registry.describe(notebook)
    record = {
        "notebook": notebook,
        "title": about["title"],
        "model": about["model"],
        "params": params or {},
        "compared_with": compared_with or about["builds_on"],
        "epochs_run": len(logs.get("loss", [])),
        "train_accuracy": metrics.last_epoch(logs, "accuracy"),
        "evaluation": evaluation,
        "backend": backend.name(),
        **(extra or {}),
        "timing": {"train_seconds": round(float(
            seconds if seconds is not None else getattr(history, "seconds", 0.0)), 1),
                   "threads": tensorflow_threads()},
        "versions": versions(),
    }
    if notebook in narrate.STUDENT:
        record["student"] = narrate.STUDENT[notebook]
    path = Path(output_dir) / "metrics" / f"{notebook}.json"
    # Each file appears whole or not at all (the rows first: the JSON says the run is done).
    text = json.dumps(record, indent=2, default=float) + "\n"
    try:
        if "per_row" in result:
            data.write_atomically(rows_path(path), lambda partial: pd.DataFrame(
                result["per_row"]).to_csv(partial, index=False))
        data.write_atomically(path, lambda partial: Path(partial).write_text(text))
    except OSError as err:
        raise OSError(f"cannot write this run's metrics to {path} ({err.strerror or err}): "
                      "free some space there, or set OUTPUT_DIR to a folder you can write "
                      "to, and run the notebook again") from None
    return path


def compare_with_previous(output_dir, notebook: str, per_row: dict) -> tuple[str | None, dict | None]:
    """The notebook that ``notebook`` builds on, and this run's paired comparison with its
    last run in ``output_dir`` when that run scored the same validation rows, else None."""
    previous = registry.describe(notebook)["builds_on"]
    try:
        rows = pd.read_csv(Path(output_dir) / "metrics" / f"{previous}.rows.csv")
    except (OSError, ValueError):
        return previous, None
    if len(rows) != len(per_row["label"]) or not (rows["label"].to_numpy() == per_row["label"]).all():
        return previous, None
    return previous, metrics.compare_rows(*[{k: table[f"model_{k}"] for k in ("ap5", "hit")}
                                            for table in (per_row, rows)])


def rows_path(metrics_path: Path) -> Path:
    """Where a notebook's per-row validation results sit next to its metrics JSON."""
    return metrics_path.with_name(metrics_path.stem + ".rows.csv")
