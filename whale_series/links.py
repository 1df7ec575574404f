"""Where the notebooks link to: the repository, the release tag, Colab, Kaggle; `make
sync` stamps each notebook's Colab and Kaggle badges and install line from
``pyproject.toml``."""

from __future__ import annotations

import re
from pathlib import Path

from whale_utils.session import registry

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
KAGGLE_BADGE = "https://kaggle.com/static/images/open-in-kaggle.svg"


def _project() -> dict | None:
    """``[project]`` of ``pyproject.toml``, or ``None`` where the source is not here."""
    pyproject = registry.ROOT / "pyproject.toml"
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


def kaggle_url(name: str) -> str:
    """Where Kaggle opens the notebook ``name`` as a new Kaggle Notebook (the repository's
    copy at the release tag)."""
    return (f"https://kaggle.com/kernels/welcome?src={repository_url()}/blob/{release_tag()}"
            f"/notebooks/{name}.ipynb")


def links(name: str) -> dict[str, str]:
    """The lines of a notebook that carry the repository URL, as they must read: the
    notebook, the package and the exercises' solutions all at the release tag."""
    solutions = f"notebooks/solutions/{name}.py"
    return {"badge": f"# [![Open In Colab]({COLAB_BADGE})]({colab_url(name)})\n"
                     f"# [![Open In Kaggle]({KAGGLE_BADGE})]({kaggle_url(name)})",
            "install": f"git+{repository_url()}@{release_tag()}",
            "solutions": f"# [`{solutions}`]({repository_url()}/blob/{release_tag()}/{solutions})"}


def stamp_links(path: Path) -> bool:
    """Rewrite a notebook source's Colab and Kaggle badges, install line and solutions link from
    ``repository_url``; ``True`` when the file changed."""
    name, text = Path(path).stem, Path(path).read_text(encoding="utf-8")
    wanted = links(name)
    new = re.sub(r"^# \[!\[Open In Colab\]\(.*$(\n# \[!\[Open In Kaggle\]\(.*$)?",
                 lambda _: wanted["badge"], text, flags=re.M)
    new = re.sub(r"git\+https://[^\"\s]+", lambda _: wanted["install"], new)
    new = re.sub(r"^# \[`notebooks/solutions/.*$", lambda _: wanted["solutions"], new, flags=re.M)
    if new != text:
        Path(path).write_text(new, encoding="utf-8")
    return new != text


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--links"]:
        raise SystemExit("usage: python -m whale_series.links --links")
    for notebook in registry.notebooks():
        if stamp_links(registry.NOTEBOOK_DIR / f"{notebook}.py"):
            print(f"{notebook}.py: Colab and Kaggle badges, install line and solutions link set from "
                  "pyproject.toml")
