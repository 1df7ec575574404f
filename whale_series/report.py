"""The cross-notebook report: one profile's metrics side by side, with intervals.

    python -m whale_series.report outputs/default [--readme README.md]

writes ``report/results.{md,csv,png}``: the table, the best model, each step against the
one it builds on (paired bootstrap over the validation rows).
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

from whale_utils import metrics, narrate
from whale_utils.session import registry
from whale_utils.session.record import rows_path


def load_metrics(output_dir: str | Path) -> list[dict]:
    """Every ``metrics/*.json`` of one profile's outputs, in notebook order; each record's
    per-row validation results, when saved, under ``"rows"`` (a DataFrame)."""
    import pandas as pd

    folder = Path(output_dir) / "metrics"
    files = sorted(folder.glob("[0-9][0-9]_*.json"))
    if not files:
        raise FileNotFoundError(f"no metrics in {folder}: run `make run-all` for this profile first")
    records = []
    for path in files:
        record = json.loads(path.read_text())
        if rows_path(path).is_file():
            record["rows"] = pd.read_csv(rows_path(path))
        records.append(record)
    return records


def model_name(record: dict) -> str:
    """The model a metrics record names, else its notebook's front matter's."""
    return record.get("model") or registry.model_name(record["notebook"])


def paired(a: dict, b: dict, column_a: str = "model", column_b: str = "model",
           metric: str = "ap5") -> dict | None:
    """Bootstrap interval of ``a``'s per-row results minus ``b``'s, when both scored the same
    validation rows (same labels in the same order); ``None`` otherwise."""
    rows_a, rows_b = a.get("rows"), b.get("rows")
    if rows_a is None or rows_b is None or not rows_a["label"].equals(rows_b["label"]):
        return None
    return metrics.paired_bootstrap(rows_a[f"{column_a}_{metric}"], rows_b[f"{column_b}_{metric}"])


def map5_interval(record: dict) -> tuple[float, float] | tuple[None, None]:
    """Bootstrap interval of a model's own MAP@5 over its validation rows."""
    rows = record.get("rows")
    if rows is None:
        return None, None
    ci = metrics.paired_bootstrap(rows["model_ap5"], 0.0 * rows["model_ap5"])
    return ci["low"], ci["high"]


def backbone_label(params: dict) -> str | None:
    """The backbone a transfer record used, its input size and weights, e.g.
    ``efficientnet-lite0 96 px, imagenet-package``; ``None`` without a backbone."""
    weights = params.get("BACKBONE_WEIGHTS")
    if weights is None or weights.startswith("not used"):
        return weights
    size = params.get("BACKBONE_SIZE") or params.get("IMG_SIZE")
    return f"{params.get('BACKBONE', 'resnet50v2')} {size} px, {weights}"


def pixel_record(records: list[dict]) -> dict | None:
    """The record whose evaluation carries the pixel neighbour (notebook 01's)."""
    return next((r for r in records if "pixel_neighbour" in r["evaluation"]), None)


def results_table(records: list[dict]):
    """One row per notebook: the figures the series compares."""
    import pandas as pd

    rows = []
    for r in records:
        ev = r["evaluation"]
        vs_base = ev.get("comparisons", {}).get("baseline", {}).get("map5", {})
        low, high = map5_interval(r)
        rows.append({
            "notebook": r["notebook"][:2],
            "model": model_name(r),
            "split": r["params"].get("SPLIT"),
            "backbone": backbone_label(r["params"]),
            "epochs": r["epochs_run"],
            "train_accuracy": r["train_accuracy"],
            "val_accuracy": ev["model"]["accuracy"],
            "top5": ev["model"]["top5"],
            "map5": ev["model"]["map5"],
            "map5_low": low,
            "map5_high": high,
            "baseline_accuracy": ev["baseline"]["accuracy"],
            "baseline_map5": ev["baseline"]["map5"],
            "vs_baseline": vs_base.get("diff"),
            "vs_baseline_low": vs_base.get("low"),
            "vs_baseline_high": vs_base.get("high"),
            "ceiling": ev["ceiling"],
            "known_map5": ev.get("model_known", {}).get("map5"),
            "pixel_neighbour_map5": ev.get("pixel_neighbour", {}).get("map5"),
            "train_seconds": r["timing"]["train_seconds"],
            "trainable_params": r.get("parameters", {}).get("trainable"),
        })
    return pd.DataFrame(rows)


def step_by_step(records: list[dict]) -> list[str]:
    """Each notebook against the one it builds on (``compared_with``), with its interval."""
    by_name = {r["notebook"]: r for r in records}
    lines = []
    for r in records:
        previous = by_name.get(r.get("compared_with") or "")
        if previous is None:
            continue
        interval = paired(r, previous)
        name, prev = r["notebook"][:2], previous["notebook"][:2]
        lines.append(narrate.step(name, prev, interval) if interval else
                     f"{name} vs {prev}: not on the same validation rows, not compared.")
    return lines


def best_model_sentence(records: list[dict]) -> str:
    """Which model is best on MAP@5, and whether that is a clear difference (intervals)."""
    ranked = sorted(records, key=lambda r: r["evaluation"]["model"]["map5"], reverse=True)
    best = ranked[0]
    ev = best["evaluation"]
    name = f"{best['notebook'][:2]} {model_name(best)}"
    text = f"Highest MAP@5: {name} with {ev['model']['map5']:.3f}"
    vs_base = ev.get("comparisons", {}).get("baseline", {}).get("map5")
    if vs_base:
        word = {"better": "clearly above", "worse": "clearly below",
                "no clear difference": "not clearly different from"}[narrate.verdict(vs_base)]
        text += (f", {word} the all-new_whale baseline ({ev['baseline']['map5']:.3f}): "
                 f"{narrate.interval_text(vs_base)}")
    if len(ranked) > 1:
        second = ranked[1]
        interval = paired(best, second)
        if interval:
            word = {"better": "clearly better than", "worse": "worse than",
                    "no clear difference": "no clear difference from"}[narrate.verdict(interval)]
            text += (f"; against the next best ({second['notebook'][:2]}, "
                     f"{second['evaluation']['model']['map5']:.3f}): {narrate.interval_text(interval)}, "
                     f"{word} it")
    beaten = [r for r in records
              if narrate.verdict(r["evaluation"].get("comparisons", {}).get("baseline", {}).get(
                  "map5", {"low": 0, "high": 0})) == "better"]
    text += f". {len(beaten)} of {len(records)} models beat the baseline clearly (interval above 0)."
    pixel = pixel_record(records)
    if pixel is not None:
        clear = [r for r in records if (i := paired(r, pixel, column_b="pixel_neighbour"))
                 and narrate.verdict(i) == "better"]
        text += (f" The pixel nearest neighbour scores "
                 f"{pixel['evaluation']['pixel_neighbour']['map5']:.3f}; {len(clear)} of "
                 f"{len(records)} models beat it clearly.")
    return text


SHORT_HEADERS = {"backbone": "backbone, size, weights", "train_accuracy": "train acc",
                 "val_accuracy": "val acc", "top5": "top-5", "map5": "MAP@5",
                 "baseline_accuracy": "baseline acc", "baseline_map5": "baseline MAP@5",
                 "ceiling": "ceiling", "known_map5": "known-whale MAP@5",
                 "train_seconds": "train s", "trainable_params": "trained params"}


# What a reader compares first: the model, MAP@5 and its difference from the baseline with
# its interval, known whales, and the two accuracies (overfitting); the book's landing page
# shows these, every other column one click away.
COMPARED_FIRST = ["notebook", "model", "MAP@5", "MAP@5 vs baseline [95 % interval]",
                  "known-whale MAP@5", "train acc", "val acc"]


def display_table(table):
    """The results table rounded, with short headers and the MAP@5 difference against the
    baseline as ``+0.137 [+0.110, +0.164]``, for Markdown and HTML."""
    shown = table.copy()
    shown["MAP@5 vs baseline [95 % interval]"] = [
        "" if d is None or d != d else f"{d:+.3f} [{lo:+.3f}, {hi:+.3f}]"
        for d, lo, hi in zip(table["vs_baseline"], table["vs_baseline_low"], table["vs_baseline_high"])]
    if shown["backbone"].isna().all():
        shown = shown.drop(columns=["backbone"])
    drop = ["pixel_neighbour_map5", "map5_low", "map5_high", "vs_baseline", "vs_baseline_low",
            "vs_baseline_high"]
    return shown.drop(columns=drop).round(3).rename(columns=SHORT_HEADERS)


def markdown_table(table) -> str:
    """A pandas table as a Markdown table."""
    def cell(value):
        return "" if value is None or value != value else str(value)
    lines = ["| " + " | ".join(table.columns) + " |",
             "|" + "|".join(" --- " for _ in table.columns) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in table.itertuples(index=False)]
    return "\n".join(lines)


def plot_results(table, title: str = ""):
    """MAP@5 (with its 95 % interval) and accuracy per model against the baseline, the
    pixel neighbour and the ceiling."""
    import matplotlib.pyplot as plt
    import numpy as np

    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(10, 5.2))
    errors = None
    if table["map5_low"].notna().all():
        errors = [table["map5"] - table["map5_low"], table["map5_high"] - table["map5"]]
    ax.bar(x - 0.2, table["map5"], 0.4, yerr=errors, capsize=3, label="MAP@5 (95 % interval)")
    ax.bar(x + 0.2, table["val_accuracy"], 0.4, label="validation accuracy")
    ax.plot(x, table["baseline_map5"], "k_", ms=28, mew=2, label="all-new_whale MAP@5")
    ax.plot(x, table["baseline_accuracy"], "_", color="grey", ms=28, mew=2,
            label="all-new_whale accuracy")
    ax.plot(x, table["ceiling"], "r_", ms=28, mew=2, label="ceiling (Id seen in training)")
    pixel = table["pixel_neighbour_map5"].dropna()
    if len(pixel):
        ax.axhline(pixel.iloc[0], color="tab:purple", ls=":", lw=1.5, label="pixel neighbour MAP@5")
    labels = [f"{n}\n" + textwrap.fill(m, 16) for n, m in zip(table["notebook"], table["model"])]
    ax.set_xticks(x, labels, fontsize=7)
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16))
    ax.set_title(title)
    fig.tight_layout()
    return fig


def report_markdown(output_dir: Path, records: list[dict], table) -> str:
    """The report as Markdown: table, best-model sentence, step by step."""
    split = ", ".join(sorted(set(table["split"].astype(str))))
    steps = step_by_step(records)
    text = (f"# Results: profile {output_dir.name}, split {split}\n\n"
            + markdown_table(display_table(table)) + "\n\n" + best_model_sentence(records) + "\n")
    if steps:
        text += ("\n## Step by step\n\nMAP@5 difference of each notebook against the one it "
                 "builds on, on the same validation rows (paired bootstrap, 95 % interval):\n\n"
                 + "\n".join(f"- {line}" for line in steps) + "\n")
    return text


README_START = "<!-- results: generated by `make readme-results` from {profile}'s report -->"
README_END = "<!-- end of results -->"


def readme_results(output_dir: Path, records: list[dict], table) -> str:
    """The README's results block: MAP@5 with its interval against the baseline, the
    yardsticks and the best-model sentence, all from one profile's metrics."""
    first = records[0]["evaluation"]
    lines = ["| | MAP@5 | vs all-`new_whale` [95 % interval] | known whales | train acc | val acc |",
             "| --- | --- | --- | --- | --- | --- |",
             f"| all-`new_whale` baseline | {first['baseline']['map5']:.3f} | | "
             f"{first.get('baseline_known', {}).get('map5', float('nan')):.3f} | | "
             f"{first['baseline']['accuracy']:.3f} |"]
    pixel = pixel_record(records)
    if pixel is not None:
        ev = pixel["evaluation"]
        lines.append(f"| pixel-space nearest neighbour | {ev['pixel_neighbour']['map5']:.3f} | | "
                     f"{ev.get('pixel_neighbour_known', {}).get('map5', float('nan')):.3f} | | |")
    for row in table.itertuples(index=False):
        weights = f" (backbone: {row.backbone})" if isinstance(row.backbone, str) else ""
        interval = ("" if row.vs_baseline is None or row.vs_baseline != row.vs_baseline else
                    f"{row.vs_baseline:+.3f} [{row.vs_baseline_low:+.3f}, {row.vs_baseline_high:+.3f}]")
        lines.append(f"| {row.notebook} {row.model}{weights} | {row.map5:.3f} | {interval} | "
                     f"{row.known_map5:.3f} | {row.train_accuracy:.3f} | {row.val_accuracy:.3f} |")
    return "\n".join([README_START.format(profile=output_dir.name), "", *lines, "",
                      best_model_sentence(records), "", README_END])


def update_readme(readme: str | Path, output_dir: str | Path) -> Path:
    """Replace the README's generated results block with the one of ``output_dir``."""
    readme, output_dir = Path(readme), Path(output_dir)
    records = load_metrics(output_dir)
    text = readme.read_text()
    start = text.find(README_START.split("{")[0])
    end = text.find(README_END)
    if start < 0 or end < start:
        raise ValueError(f"{readme} has no results block to replace: it needs a line starting "
                         f"with {README_START.split('{')[0]!r} and a line {README_END!r}")
    block = readme_results(output_dir, records, results_table(records))
    readme.write_text(text[:start] + block + text[end + len(README_END):])
    return readme


def build_report(output_dir: str | Path) -> Path:
    """Write ``report/results.{md,csv}`` and ``report/results.png`` for one profile."""
    output_dir = Path(output_dir)
    records = load_metrics(output_dir)
    table = results_table(records)
    folder = output_dir / "report"
    folder.mkdir(parents=True, exist_ok=True)
    table.to_csv(folder / "results.csv", index=False)
    (folder / "results.md").write_text(report_markdown(output_dir, records, table))
    split = ", ".join(sorted(set(table["split"].astype(str))))
    fig = plot_results(table, f"profile {output_dir.name}, split {split}")
    fig.savefig(folder / "results.png", dpi=110, bbox_inches="tight")
    return folder


def profile_parser(module: str, description: str):
    """A command line whose argument is one profile's outputs folder."""
    import argparse

    parser = argparse.ArgumentParser(prog=f"python -m whale_utils.{module}",
                                     description=description)
    parser.add_argument("output_dir", help="a profile's outputs, e.g. outputs/default")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = profile_parser("report", "Results table and chart of one profile.")
    parser.add_argument("--readme", metavar="README.md",
                        help="also replace this file's generated results block")
    args = parser.parse_args(argv)
    try:
        folder = build_report(args.output_dir)
        if args.readme:
            print(f"results block of {update_readme(args.readme, args.output_dir)} replaced")
    except (FileNotFoundError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print((folder / "results.md").read_text())
    print(f"written to {folder}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
