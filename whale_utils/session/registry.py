"""The notebooks of the series, found from their files: the one list everything uses.

A notebook is ``notebooks/NN_name.py`` (jupytext py:percent). What the runner, the
report, the book and the tests need to know about it comes from the file itself: its
title (the first ``# #`` heading) and the ``whale:`` front matter of its jupytext header
(``model``, ``changes``, ``builds_on``: see CONTRIBUTING.md). Adding a notebook is adding
such a file; nothing else lists the notebooks.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOK_DIR = ROOT / "notebooks"
PATTERN = "[0-9][0-9]_*.py"


def notebooks(folder: Path = NOTEBOOK_DIR) -> list[str]:
    """Every notebook's name (``NN_name``), in series order."""
    return sorted(path.stem for path in Path(folder).glob(PATTERN))


def describe(name: str, folder: Path = NOTEBOOK_DIR) -> dict:
    """A notebook's ``title``, ``model``, ``changes`` and ``builds_on`` (``None`` when its
    source is not here, as in Colab, or does not say)."""
    path = Path(folder) / f"{name}.py"
    return dict(_describe(str(path), path.stat().st_mtime_ns if path.is_file() else 0))


@lru_cache(maxsize=None)
def _describe(path: str, _mtime: int) -> tuple:
    info = {"title": None, "model": None, "changes": None, "builds_on": None}
    if not _mtime:
        return tuple(info.items())
    text = Path(path).read_text(encoding="utf-8")
    header = re.match(r"# ---\n(.*?)\n# ---\n", text, re.S)
    if header:
        meta = yaml.safe_load("\n".join(line[2:] for line in header.group(1).splitlines()))
        front = (meta or {}).get("jupyter", {}).get("whale", {}) or {}
        info.update({key: front.get(key) for key in ("model", "changes", "builds_on")})
    title = re.search(r"^# # (.+)$", text, re.M)
    info["title"] = title.group(1).strip() if title else None
    return tuple(info.items())


def model_name(name: str) -> str:
    """The notebook's model as its front matter names it, else its own name."""
    return describe(name)["model"] or name
