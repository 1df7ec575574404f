"""The time each exercise's solution takes, from a run with the solutions.

    make run-all PROFILE=default SOLUTIONS=1
    .venv/bin/python tools/exercise_times.py outputs/default-solutions

prints, per exercise, the seconds of its solution cell and of its check (papermill records
each cell's duration), the check's verdict, and this machine's float32 matmul figure
(the one `make bench` prints), for docs/exercises.md.
"""

import re
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

from bench import matmul_gflops  # noqa: E402

from whale_series import solutions  # noqa: E402
from whale_utils.session import registry  # noqa: E402

VERDICT = re.compile(r"Exercise (\d\.\d), (right|not yet|not answered)")


def exercise_times(run: Path) -> list[tuple[str, float, float, str]]:
    """(exercise, solution seconds, check seconds, verdict) for every executed notebook."""
    rows = []
    for notebook in registry.notebooks():
        path = run / f"{notebook}.ipynb"
        if not path.is_file():
            continue
        cells = nbformat.read(path, as_version=4).cells
        for i, cell in enumerate(cells):
            if solutions.answer_tag(cell):
                check = cells[i + 1]
                text = "".join(o.get("data", {}).get("text/plain", "")
                               for o in check.get("outputs", []))
                exercise, verdict = VERDICT.search(text).groups()
                seconds = [c.metadata.get("papermill", {}).get("duration") or 0.0
                           for c in (cell, check)]
                rows.append((exercise, *seconds, verdict))
    return rows


def main(run: str) -> int:
    print("| exercise | solution (s) | check (s) | verdict |\n|---|---|---|---|")
    for exercise, answer, check, verdict in exercise_times(Path(run)):
        print(f"| {exercise} | {answer:.1f} | {check:.1f} | {verdict} |")
    print(f"\nfloat32 matmul on this machine: {matmul_gflops():.1f} GFLOP/s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "outputs/default-solutions"))
