"""make test-compat: the package in a Colab-like environment.

Colab ships current TensorFlow (the plain ``tensorflow`` distribution, GPU-capable),
Keras 3, scikit-learn, pandas, NumPy and matplotlib. This script builds a throwaway
environment the same way (those first, newest versions, no lock), installs the package
with plain pip, checks that pip replaced or downgraded nothing that was there, then runs
the unit tests and notebooks 01, 04 and 07 on the smoke profile with it.

    python3 tools/test_compat.py [--venv .venv-compat]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
COLAB_FIRST = ["tensorflow", "keras", "scikit-learn", "pandas", "numpy", "matplotlib"]
# The test tools; not the teaching tools (Otter-Grader): a teacher grades in the locked
# environment (`make env`), so tests/test_grading.py skips here.
TOOLS = ["pytest", "papermill", "nbval", "ipykernel", "jupytext", "nbconvert", "psutil",
         "hypothesis"]
NOTEBOOKS = ["01", "04", "07"]


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    print("$", " ".join(map(str, args)), flush=True)
    return subprocess.run(args, check=True, **kwargs)


def installed(python: Path) -> dict[str, str]:
    out = subprocess.run([python, "-m", "pip", "list", "--format", "json"], check=True,
                         capture_output=True, text=True).stdout
    return {p["name"].lower(): p["version"] for p in json.loads(out)}


def changed_by(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """What an install replaced, downgraded or removed among what was there."""
    return [f"{name} {version} -> {after.get(name, 'removed')}"
            for name, version in sorted(before.items()) if after.get(name) != version]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--venv", default=str(ROOT / ".venv-compat"))
    venv = Path(parser.parse_args().venv)
    start = time.perf_counter()
    shutil.rmtree(venv, ignore_errors=True)
    run(sys.executable, "-m", "venv", venv)
    python = venv / "bin" / "python"
    pip = [python, "-m", "pip", "--disable-pip-version-check"]
    run(*pip, "install", "-q", *COLAB_FIRST)
    before = installed(python)
    print("Colab-like stack:", ", ".join(f"{n} {before[n]}" for n in COLAB_FIRST), flush=True)
    report = venv / "install-report.json"
    run(*pip, "install", "-q", "--dry-run", "--report", report, str(ROOT))
    planned = [f"{i['metadata']['name']} {i['metadata']['version']}"
               for i in json.loads(report.read_text())["install"]]
    print("pip would install:", ", ".join(planned), flush=True)
    run(*pip, "install", "-q", str(ROOT))
    damage = changed_by(before, installed(python))
    if damage:
        print("error: installing whale-notebooks changed what was installed first:\n  "
              + "\n  ".join(damage), file=sys.stderr)
        return 1
    print("installing whale-notebooks replaced or downgraded nothing", flush=True)
    run(*pip, "install", "-q", *TOOLS)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}   # the checkout's notebooks and tests
    run(python, "-m", "pytest", "-q", "tests", "--ignore=tests/golden",
        "--deselect", "tests/test_new_notebook.py", "--deselect", "tests/test_book.py",
        "--deselect", "tests/test_lab.py",   # JupyterLab in the project's own environment
        "--deselect", "tests/test_project.py::test_environment_yml_pins_equal_the_lock",
        "--deselect",      # the local lock's packages (uv, ...) are not in this environment
        "tests/test_project.py::test_the_lock_holds_only_what_the_declared_dependencies_pull_in",
        cwd=ROOT, env=env)
    run(python, "-m", "whale_series.series", "run", "--profile", "smoke", "--nb", *NOTEBOOKS,
        cwd=ROOT, env=env)
    versions = installed(python)
    print("tested with:", ", ".join(f"{n} {versions[n]}" for n in COLAB_FIRST + ["scikeras"]))
    print(f"test-compat passed in {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
