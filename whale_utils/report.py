"""What each notebook records: library versions and its metrics as JSON."""

from __future__ import annotations

import json
import platform
from importlib import metadata
from pathlib import Path

LIBRARIES = ("tensorflow-cpu", "tensorflow", "keras", "scikeras", "scikit-learn",
             "numpy", "pandas", "pillow")


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
    print("  ".join(f"{name} {version}" for name, version in versions().items()))


def save_metrics(output_dir: str | Path, notebook: str, result: dict, history=None,
                 params: dict | None = None, extra: dict | None = None) -> Path:
    """Write ``OUTPUT_DIR/metrics/<notebook>.json`` for the cross-model report."""
    logs = getattr(history, "history", history) or {}
    record = {
        "notebook": notebook,
        "params": params or {},
        "epochs_run": len(logs.get("loss", [])),
        "train_accuracy": float(logs["accuracy"][-1]) if "accuracy" in logs else None,
        "evaluation": result,
        **(extra or {}),
        "timing": {"train_seconds": round(float(getattr(history, "seconds", 0.0)), 1)},
        "versions": versions(),
    }
    path = Path(output_dir) / "metrics" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=float) + "\n")
    return path
