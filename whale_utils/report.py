"""What each notebook records: library versions and its metrics as JSON."""

from __future__ import annotations

import json
import platform
import textwrap
import sys
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
                 params: dict | None = None, extra: dict | None = None,
                 seconds: float | None = None) -> Path:
    """Write ``OUTPUT_DIR/metrics/<notebook>.json`` for the cross-model report.

    ``seconds`` is the training time when ``history`` does not carry it.
    """
    logs = getattr(history, "history", history) or {}
    record = {
        "notebook": notebook,
        "params": params or {},
        "epochs_run": len(logs.get("loss", [])),
        "train_accuracy": float(logs["accuracy"][-1]) if "accuracy" in logs else None,
        "evaluation": result,
        **(extra or {}),
        "timing": {"train_seconds": round(float(
            seconds if seconds is not None else getattr(history, "seconds", 0.0)), 1)},
        "versions": versions(),
    }
    path = Path(output_dir) / "metrics" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(record, indent=2, default=float) + "\n")
    return path


# --------------------------------------------------------------------------- report
MODEL_NAMES = {
    "01_overfit_baseline": "CNN",
    "02_dropout": "CNN + dropout",
    "03_dropout_datagen": "CNN + dropout + data generation",
    "04_transfer_learning": "ResNet50V2 (frozen) + head",
    "05_transfer_datagen": "ResNet50V2 + data generation",
    "06_transfer_early_stopping": "ResNet50V2 + early stopping",
    "07_grid_search": "ResNet50V2, grid-searched optimizer",
}


def load_metrics(output_dir: str | Path) -> list[dict]:
    """Every ``metrics/*.json`` of one profile's outputs, in notebook order."""
    folder = Path(output_dir) / "metrics"
    files = sorted(folder.glob("[0-9][0-9]_*.json"))
    if not files:
        raise FileNotFoundError(f"no metrics in {folder}: run `make run-all` for this profile first")
    return [json.loads(f.read_text()) for f in files]


def results_table(records: list[dict]):
    """One row per notebook: the figures the series compares."""
    import pandas as pd

    rows = []
    for r in records:
        ev = r["evaluation"]
        rows.append({
            "notebook": r["notebook"][:2],
            "model": MODEL_NAMES.get(r["notebook"], r["notebook"]),
            "split": r["params"].get("SPLIT"),
            "epochs": r["epochs_run"],
            "train_accuracy": r["train_accuracy"],
            "val_accuracy": ev["model"]["accuracy"],
            "top5": ev["model"]["top5"],
            "map5": ev["model"]["map5"],
            "baseline_accuracy": ev["baseline"]["accuracy"],
            "baseline_map5": ev["baseline"]["map5"],
            "ceiling": ev["ceiling"],
            "known_map5": ev.get("model_known", {}).get("map5"),
            "pixel_neighbour_map5": ev.get("pixel_neighbour", {}).get("map5"),
            "train_seconds": r["timing"]["train_seconds"],
            "trainable_params": r.get("parameters", {}).get("trainable"),
        })
    return pd.DataFrame(rows)


def best_model_sentence(table) -> str:
    """Which model is best on MAP@5, by how much over the baseline and the runner-up."""
    ranked = table.sort_values("map5", ascending=False).reset_index(drop=True)
    best = ranked.iloc[0]
    text = (f"Best on MAP@5: {best['notebook']} {best['model']} with {best['map5']:.3f}, "
            f"{best['map5'] - best['baseline_map5']:+.3f} against the all-new_whale baseline "
            f"({best['baseline_map5']:.3f})")
    if len(ranked) > 1:
        second = ranked.iloc[1]
        text += f" and {best['map5'] - second['map5']:+.3f} against the next best ({second['notebook']})"
    beaten = int((table["map5"] > table["baseline_map5"] + 0.005).sum())
    text += f". {beaten} of {len(table)} models beat the baseline by more than 0.005."
    pixel = table["pixel_neighbour_map5"].dropna() if "pixel_neighbour_map5" in table else []
    if len(pixel):
        text += (f" The pixel nearest neighbour scores {pixel.iloc[0]:.3f}; "
                 f"{int((table['map5'] > pixel.iloc[0] + 0.005).sum())} of {len(table)} "
                 "models beat it by more than 0.005.")
    return text


SHORT_HEADERS = {"train_accuracy": "train acc", "val_accuracy": "val acc", "top5": "top-5",
                 "map5": "MAP@5", "baseline_accuracy": "baseline acc",
                 "baseline_map5": "baseline MAP@5", "ceiling": "ceiling",
                 "known_map5": "known-whale MAP@5",
                 "train_seconds": "train s", "trainable_params": "trained params"}


def display_table(table):
    """The results table rounded, with short headers, for Markdown and HTML."""
    return table.drop(columns=["pixel_neighbour_map5"]).round(3).rename(columns=SHORT_HEADERS)


def markdown_table(table) -> str:
    """A pandas table as a Markdown table."""
    def cell(value):
        return "" if value is None or value != value else str(value)
    lines = ["| " + " | ".join(table.columns) + " |",
             "|" + "|".join(" --- " for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def plot_results(table, title: str = ""):
    """MAP@5 and accuracy per model against the baseline and the ceiling."""
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(10, 4.8))
    ax.bar(x - 0.2, table["map5"], 0.4, label="MAP@5")
    ax.bar(x + 0.2, table["val_accuracy"], 0.4, label="validation accuracy")
    ax.plot(x, table["baseline_map5"], "k_", ms=28, mew=2, label="all-new_whale MAP@5")
    ax.plot(x, table["baseline_accuracy"], "_", color="grey", ms=28, mew=2,
            label="all-new_whale accuracy")
    ax.plot(x, table["ceiling"], "r_", ms=28, mew=2, label="ceiling (Id seen in training)")
    labels = [f"{n}\n" + textwrap.fill(m, 16) for n, m in zip(table["notebook"], table["model"])]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, ncol=3, loc="lower left", bbox_to_anchor=(0.0, 0.55))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def build_report(output_dir: str | Path) -> Path:
    """Write ``report/results.{md,csv}`` and ``report/results.png`` for one profile."""
    output_dir = Path(output_dir)
    table = results_table(load_metrics(output_dir))
    folder = output_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "results.csv", index=False)
    shown = display_table(table)
    split = ", ".join(sorted(set(table["split"].astype(str))))
    (folder / "results.md").write_text(
        f"# Results: profile {output_dir.name}, split {split}\n\n"
        + markdown_table(shown) + "\n\n" + best_model_sentence(table) + "\n")
    fig = plot_results(table, f"profile {output_dir.name}, split {split}")
    fig.savefig(folder / "results.png", dpi=110)
    return folder


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m whale_utils.report",
                                     description="Results table and chart of one profile.")
    parser.add_argument("output_dir", help="a profile's outputs, e.g. outputs/default")
    args = parser.parse_args(argv)
    try:
        folder = build_report(args.output_dir)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print((folder / "results.md").read_text())
    print(f"written to {folder}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
