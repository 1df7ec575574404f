"""A new notebook is one file: dropped into a copy of the project, the Makefile's
targets (sync, run, report, html) pick it up with no other file touched."""

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv"

EXAMPLE = '''# ---
# jupyter:
#   whale:
#     model: raw-pixel neighbour (example)
#     changes: no training at all
#     builds_on: 01_overfit_baseline
# ---

# %% [markdown]
# # 99 · An example notebook
#
# A stand-in for a new step of the series: it scores the pixel neighbour as if it were
# a model, on the same rows and with the same metrics as every other notebook.

# %% tags=["parameters"]
DATA_DIR = "../data/synthetic/smoke"
N_ROWS = 200
IMG_SIZE = 32
VALIDATION_SPLIT = 0.3
SPLIT = "last-rows"
SEED = 0
OUTPUT_DIR = "../outputs/smoke"

# %%
from whale_utils import metrics, session

run = session.start(globals())
whales = run.load_dataset()
scores = metrics.pixel_neighbour_scores(whales.x_train, whales.y_train, whales.x_val,
                                        whales.new_whale_label, whales.n_classes)
result = metrics.evaluate(scores, whales)
run.show(result)
run.save_metrics(result, whales=whales)
'''


def listing(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.skipif(not (VENV / "bin" / "python").exists(), reason="needs the project's .venv")
def test_a_new_notebook_is_picked_up_by_sync_run_report_and_html(tmp_path):
    copy = tmp_path / "project"
    shutil.copytree(ROOT, copy, ignore=shutil.ignore_patterns(
        ".venv", ".git", "outputs", "synthetic", "kaggle", "__pycache__", "*.egg-info"))
    before = listing(copy)
    (copy / "notebooks" / "99_example.py").write_text(EXAMPLE)
    env = {**os.environ, "PYTHONPATH": str(copy)}   # the copy's whale_utils, kernels too
    stamp = VENV / ".installed"

    def make(*args):
        done = subprocess.run(["make", "-C", str(copy), f"VENV={VENV}", "-o", str(stamp), *args],
                              env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"make {' '.join(args)}:\n{done.stdout[-2000:]}{done.stderr[-3000:]}"
        return done.stdout

    make("sync")
    assert (copy / "notebooks" / "99_example.ipynb").is_file()
    make("run", "NB=99", "PROFILE=smoke")
    executed = copy / "outputs" / "smoke" / "99_example.ipynb"
    assert executed.is_file() and (copy / "outputs" / "smoke" / "metrics" / "99_example.json").is_file()
    report = make("report", "PROFILE=smoke")
    assert "| 99 | raw-pixel neighbour (example) |" in report
    make("html", "PROFILE=smoke")
    index = (copy / "outputs" / "smoke" / "html" / "index.html").read_text()
    assert 'href="99_example.html"' in index and "99 · An example notebook" in index
    assert (copy / "outputs" / "smoke" / "html" / "99_example.html").is_file()
    after = listing(copy)
    touched = {path for path in set(before) | set(after) if before.get(path) != after.get(path)
               and not path.startswith(("outputs/", "data/synthetic/"))}
    assert touched == {"notebooks/99_example.py", "notebooks/99_example.ipynb"}
