"""The exercises' solutions, kept apart in ``notebooks/solutions/NN_name.py``.

A notebook's answer cells are tagged ``answer-1``, ``answer-2``...; its solutions file
holds one cell per tag. ``solved`` is the notebook with each answer cell replaced by its
solution: what ``make run-all SOLUTIONS=1`` executes and what the book shows behind
"show the solution".
"""

from __future__ import annotations

import re
from pathlib import Path

import jupytext
import nbformat

from whale_utils.session import registry

FOLDER = registry.NOTEBOOK_DIR / "solutions"
ANSWER = re.compile(r"answer-\d+$")


def answer_tag(cell) -> str | None:
    """The ``answer-N`` tag of a cell, if it has one."""
    return next((tag for tag in cell.get("metadata", {}).get("tags", []) if ANSWER.match(tag)),
                None)


def solutions_of(notebook: str) -> dict[str, str]:
    """``answer-N`` -> the solution's source, from ``notebooks/solutions/<notebook>.py``
    (none where that file does not exist: a notebook need not have exercises)."""
    path = FOLDER / f"{notebook}.py"
    if not path.is_file():
        return {}
    found = {answer_tag(cell): cell.source for cell in jupytext.read(path).cells}
    found.pop(None, None)
    return found


def solved(notebook: str, source: Path | None = None) -> nbformat.NotebookNode:
    """The notebook (``source``, by default its paired ``.ipynb``) with every answer cell
    replaced by its solution; a tag on one side only is an error that names it."""
    nb = nbformat.read(source or registry.NOTEBOOK_DIR / f"{notebook}.ipynb", as_version=4)
    solutions = solutions_of(notebook)
    tags = [tag for tag in map(answer_tag, nb.cells) if tag]
    missing = sorted(set(tags) ^ set(solutions))
    if missing:
        raise ValueError(f"{notebook}: {', '.join(missing)} is in only one of the notebook "
                         f"and {FOLDER / notebook}.py: each answer cell needs one solution, "
                         "tagged like it")
    for cell in nb.cells:
        if answer_tag(cell):
            cell.source = solutions[answer_tag(cell)]
    return nb


def write_solved(notebook: str, folder: Path) -> Path:
    """``solved(notebook)`` written to ``folder/<notebook>.ipynb``."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{notebook}.ipynb"
    nbformat.write(solved(notebook), path)
    return path
