"""``make backends``: every notebook on TensorFlow, JAX and PyTorch, and how far apart.

    python -m whale_series.backends --profile default [--write docs/keras-backends.md]

reads the runs that ``make backends`` made (``make run-all BACKEND=...`` into
``outputs/<profile>``, ``-jax``, ``-torch``, and TensorFlow again with ``SEED=1`` into
``-seed1``) and writes a table of each notebook's MAP@5 and seconds per backend, with the
paired 95 % interval of each backend against TensorFlow on the same validation rows. The
second TensorFlow seed is the yardstick: each backend draws its initial weights, dropout
masks and shuffles from a random stream of its own, and that alone moves a result as much
as another seed does on one backend.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from whale_series import report, series
from whale_utils import narrate
from whale_utils.session import registry

ROOT = Path(__file__).resolve().parent.parent
NAMES = {"tensorflow": "TensorFlow", "jax": "JAX", "torch": "PyTorch"}
OTHERS = ("jax", "torch")
CONTROL_SEED = 1       # TensorFlow's second run: another random stream, same backend


def folders(profile: str, outputs: Path = ROOT / "outputs") -> dict[str, Path]:
    """The outputs of each run ``make backends`` compares, by run name."""
    base = Path(outputs) / profile
    return {"tensorflow": base, "jax": Path(f"{base}-jax"), "torch": Path(f"{base}-torch"),
            "seed": Path(f"{base}-seed{CONTROL_SEED}")}


def load_runs(profile: str, outputs: Path = ROOT / "outputs") -> dict[str, dict[str, dict]]:
    """Each run's metrics records by notebook; an error names a missing or wrong run."""
    runs = {}
    for run, folder in folders(profile, outputs).items():
        try:
            records = report.load_metrics(folder)
        except FileNotFoundError as err:
            raise SystemExit(f"error: {err}") from None
        expected = "tensorflow" if run == "seed" else run
        for record in records:
            ran_on = record.get("backend", "tensorflow")
            if ran_on != expected:
                raise SystemExit(f"error: {folder}/metrics/{record['notebook']}.json ran on "
                                 f"{ran_on}, not {expected}: run `make run-all BACKEND={expected}`")
        runs[run] = {record["notebook"]: record for record in records}
    missing = [f"{nb} ({run})" for nb in registry.notebooks() for run in runs
               if nb not in runs[run]]
    if missing:
        raise SystemExit(f"error: no metrics for {', '.join(missing)}: `make backends "
                         f"PROFILE={profile}` runs every notebook on every backend")
    return runs


def difference(a: dict, b: dict) -> dict:
    """``a``'s MAP@5 minus ``b``'s over the same validation rows, with its interval."""
    interval = report.paired(a, b)
    if interval is None:
        raise SystemExit(f"error: {a['notebook']}: the runs did not score the same validation "
                         "rows; run them on the same profile")
    return interval


def cell(interval: dict) -> str:
    """``+0.012 [-0.010, +0.034]``, in bold when the interval excludes zero."""
    text = f"{interval['diff']:+.3f} [{interval['low']:+.3f}, {interval['high']:+.3f}]"
    return text if narrate.verdict(interval) == "no clear difference" else f"**{text}**"


def table(profile: str, runs: dict, seconds: dict) -> tuple[list[str], dict]:
    """The Markdown rows, and every interval by (notebook, run)."""
    header = ["notebook", "TensorFlow", *[f"{NAMES[b]}" for b in OTHERS],
              *[f"{NAMES[b]} − TensorFlow [95 %]" for b in OTHERS],
              f"TensorFlow SEED={CONTROL_SEED} − SEED=0 [95 %]"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    intervals = {}
    for notebook in registry.notebooks():
        tf = runs["tensorflow"][notebook]
        shown = [f"{runs[b][notebook]['evaluation']['model']['map5']:.3f} "
                 f"({seconds[b].get(notebook, float('nan')):.0f} s)"
                 for b in ("tensorflow", *OTHERS)]
        for run in (*OTHERS, "seed"):
            intervals[notebook, run] = difference(runs[run][notebook], tf)
        lines.append("| " + " | ".join([notebook, *shown,
                                         *[cell(intervals[notebook, r]) for r in (*OTHERS, "seed")]])
                     + " |")
    return lines, intervals


def summary(intervals: dict) -> list[str]:
    """What the table shows, counted from its intervals."""
    notebooks = sorted({nb for nb, _ in intervals})
    lines = []
    for run in OTHERS:
        apart = [nb for nb in notebooks if narrate.verdict(intervals[nb, run]) != "no clear difference"]
        lines.append(f"- {NAMES[run]}: {len(notebooks) - len(apart)} of {len(notebooks)} notebooks "
                     "within their interval of TensorFlow's"
                     + (f"; apart: {', '.join(apart)}." if apart else "."))
    seed_apart = [nb for nb in notebooks
                  if narrate.verdict(intervals[nb, "seed"]) != "no clear difference"]
    widest = max(abs(intervals[nb, "seed"]["diff"]) for nb in notebooks)
    lines.append(f"- TensorFlow with SEED={CONTROL_SEED} instead of 0 (the same backend, another "
                 f"random stream): {len(seed_apart)} of {len(notebooks)} notebooks apart"
                 + (f" ({', '.join(seed_apart)})" if seed_apart else "")
                 + f"; the largest change {widest:.3f}.")
    for run in OTHERS:
        beyond = [nb for nb in notebooks
                  if abs(intervals[nb, run]["diff"]) > widest + 1e-9]
        lines.append(f"- {NAMES[run]}'s differences "
                     + ("are all within the largest change that another seed makes on "
                        "TensorFlow." if not beyond else
                        f"exceed the largest seed change in {', '.join(beyond)}."))
    return lines


def versions(runs: dict) -> str:
    """The libraries each backend's run used, from its records."""
    parts = []
    for run in ("tensorflow", *OTHERS):
        found = next(iter(runs[run].values())).get("versions", {})
        names = ["keras", {"tensorflow": "tensorflow-cpu", "jax": "jax", "torch": "torch"}[run]]
        parts.append(f"{NAMES[run]}: " + ", ".join(f"{n} {found[n]}" for n in names if n in found))
    return "; ".join(parts)


def page(profile: str, matmul: float | None, outputs: Path = ROOT / "outputs") -> str:
    """The Markdown page of ``make backends``: table, what it shows, why, versions."""
    runs = load_runs(profile, outputs)
    seconds = {run: series.read_timings(folder)
               for run, folder in folders(profile, outputs).items()}
    lines, intervals = table(profile, runs, seconds)
    machine = (f"TensorFlow float32 matmul {matmul:.0f} GFLOP/s, `make bench`'s figure"
               if matmul else "matmul figure not measured")
    return "\n".join([
        "# One source on three Keras backends",
        "",
        f"Generated by `make backends PROFILE={profile}` (do not edit): every notebook of the "
        f"`{profile}` profile on TensorFlow, JAX and PyTorch, each in its own environment "
        "(`.venv`, `.venv-jax`, `.venv-torch`), one after the other on one machine "
        f"({machine}), and TensorFlow again with `SEED={CONTROL_SEED}`.",
        "",
        "Each cell: validation MAP@5 (the notebook's wall seconds). A difference is the "
        "backend's MAP@5 minus TensorFlow's over the same validation rows, with its paired "
        "bootstrap 95 % interval; in bold when the interval excludes zero.",
        "",
        *lines,
        "",
        *summary(intervals),
        "",
        "Why two backends differ at all: the same seed does not give the same numbers. "
        "Each backend draws the initial weights, the dropout masks, the augmentation and "
        "the shuffles from its own random generator, so a backend is another random "
        "stream, as another "
        "seed is; the last column measures how far another stream moves each notebook on "
        "TensorFlow alone. The layers themselves compute the same function: "
        "`tests/test_backends.py` runs each model with the same weights on every backend and "
        "compares the outputs.",
        "",
        f"Versions: {versions(runs)}.",
        "",
    ])


def probe() -> dict:
    """The outputs of the series' models and layers on fixed photos, with the same weights
    on every backend (drawn by NumPy, or EfficientNet-Lite0's ImageNet weights), under
    this process's backend: what ``tests/test_backends.py`` compares across backends."""
    import keras
    import numpy as np

    from whale_utils import augment, backbones, embedding, lessons

    def fixed(model):
        draw = np.random.default_rng(1)
        model.set_weights([draw.uniform(0.5, 1.5, v.shape) if v.path.endswith(("gamma", "variance"))
                           else 0.05 * draw.standard_normal(v.shape) for v in model.weights])
        return model

    def run(model, x):
        return np.asarray(keras.ops.convert_to_numpy(model.predict(x, verbose=0)))

    draw = np.random.default_rng(0)
    photos = draw.integers(0, 256, (8, 48, 48, 3), dtype=np.uint8)
    angle = draw.uniform(-0.2, 0.2, 8)
    transforms = np.stack([np.cos(angle), -np.sin(angle), draw.uniform(-4, 4, 8), np.sin(angle),
                           np.cos(angle), draw.uniform(-4, 4, 8)], axis=1).astype("float32")
    weights = backbones.choose_weights("efficientnet-lite0", "auto")
    features = draw.standard_normal((8, 1280)).astype("float32")
    unit = keras.ops.convert_to_numpy(keras.ops.normalize(draw.standard_normal((8, 16))))
    margin = lessons.AngularMargin(10)
    margin.build([(None, 16), (None,)])
    margin.set_weights([draw.standard_normal(w.shape) for w in margin.weights])
    labels = np.arange(8, dtype="int32") % 10
    return {
        "affine_resample": keras.ops.convert_to_numpy(augment.resample(photos, transforms)),
        "student_cnn": run(fixed(lessons.student_cnn(48, 10)), photos),
        "dropout_cnn": run(fixed(lessons.dropout_cnn(48, 10)), photos),
        "transfer_head": run(fixed(lessons.transfer_head(10, n_features=1280)), features),
        "lite0_features": run(backbones.feature_extractor(weights, 48, 64), photos),
        "lite0_feature_map": run(backbones.feature_map(weights, 48, 64), photos),
        "cnn_embedding": run(fixed(embedding.cnn_embedding(48, size=16)), photos),
        "angular_margin": keras.ops.convert_to_numpy(margin([unit, labels])),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_series.backends",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="default")
    parser.add_argument("--write", metavar="MD", help="also write the page here "
                        "(docs/keras-backends.md for the default profile)")
    parser.add_argument("--matmul", type=float, help="this machine's GFLOP/s, for the page")
    parser.add_argument("--probe", metavar="NPZ", help="only save ``probe()``'s outputs there")
    args = parser.parse_args(argv)
    if args.probe:
        import numpy as np

        np.savez(args.probe, **probe())
        return 0
    text = page(args.profile, args.matmul)
    out = ROOT / "outputs" / f"backends-{args.profile}.md"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
    print(text)
    print(f"written to {out}")
    if args.write:
        Path(args.write).write_text(text)
        print(f"and to {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
