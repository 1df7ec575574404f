"""The notebooks of the series, found from their files: the one list everything uses.

A notebook is ``notebooks/NN_name.py`` (jupytext py:percent). What the runner, the
report, the book and the tests need to know about it comes from the file itself: its
title (the first ``# #`` heading) and a small front matter in its jupytext header::

    # ---
    # jupyter:
    #   ...
    #   whale:
    #     model: CNN + dropout
    #     changes: Dropout(0.3) around the dense block
    #     builds_on: 01_overfit_baseline
    # ---

Adding a notebook is adding such a file; nothing else lists the notebooks.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
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


# --------------------------------------------------------------------------- links
COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"


def _project() -> dict | None:
    """``[project]`` of ``pyproject.toml``, or ``None`` where the source is not here."""
    pyproject = ROOT / "pyproject.toml"
    if not pyproject.is_file():
        return None
    import tomllib

    return tomllib.loads(pyproject.read_text())["project"]


def repository_url() -> str:
    """The repository's URL, written once: ``[project.urls] Repository`` of
    ``pyproject.toml`` (or of the installed package's metadata)."""
    project = _project()
    if project is not None:
        return project["urls"]["Repository"]
    from importlib import metadata

    for entry in metadata.metadata("whale-notebooks").get_all("Project-URL") or []:
        label, _, url = entry.partition(", ")
        if label == "Repository":
            return url
    raise LookupError("whale-notebooks declares no Repository URL")


def release_tag() -> str:
    """The git tag of this version, ``v`` + ``pyproject.toml``'s version (or the
    installed package's): what Colab opens and installs, never the moving ``main``."""
    project = _project()
    if project is not None:
        return f"v{project['version']}"
    from importlib import metadata

    return f"v{metadata.version('whale-notebooks')}"


def colab_url(name: str) -> str:
    """Where Colab opens the notebook ``name``: the repository at the release tag."""
    path = repository_url().removeprefix("https://github.com/")
    return (f"https://colab.research.google.com/github/{path}/blob/{release_tag()}"
            f"/notebooks/{name}.ipynb")


def links(name: str) -> dict[str, str]:
    """The lines of a notebook that carry the repository URL, as they must read: the
    notebook and the package both at the release tag."""
    return {"badge": f"# [![Open In Colab]({COLAB_BADGE})]({colab_url(name)})",
            "install": f"git+{repository_url()}@{release_tag()}"}


def stamp_links(path: Path) -> bool:
    """Rewrite a notebook source's Colab badge and install line from ``repository_url``;
    ``True`` when the file changed."""
    name, text = Path(path).stem, Path(path).read_text(encoding="utf-8")
    wanted = links(name)
    new = re.sub(r"^# \[!\[Open In Colab\]\(.*$", lambda _: wanted["badge"], text, flags=re.M)
    new = re.sub(r"git\+https://[^\"\s]+", lambda _: wanted["install"], new)
    if new != text:
        Path(path).write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--links"]:
        raise SystemExit("usage: python -m whale_utils.registry --links")
    for notebook in notebooks():
        if stamp_links(NOTEBOOK_DIR / f"{notebook}.py"):
            print(f"{notebook}.py: Colab badge and install line set from pyproject.toml")
