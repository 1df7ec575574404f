"""The profiles: named sets of parameters in ``notebooks/params/<name>.yaml``.

    profile.load("default")                    # every parameter, checked names
    profile.parameters(settings, "08_metric_learning")   # with the notebook's overrides
"""

from __future__ import annotations

import sys

import yaml

from whale_utils import data, registry

FOLDER = registry.NOTEBOOK_DIR / "params"


def folder():
    """``notebooks/params/`` in a checkout; the copy installed with the package otherwise
    (a notebook opened alone, as in Colab)."""
    if FOLDER.is_dir():
        return FOLDER
    from importlib import resources

    return resources.files("whale_utils.profiles")


def names() -> list[str]:
    """Every profile's name."""
    return sorted(p.name[:-5] for p in folder().iterdir() if p.name.endswith(".yaml"))


def load(name: str) -> dict:
    """The parameters of ``notebooks/params/<name>.yaml``; an old ``SPLIT`` name is
    replaced by its new one, with a message that says what to write."""
    path = folder().joinpath(f"{name}.yaml")
    if not path.is_file():
        raise SystemExit(f"error: no profile {name!r} ({path}); choose one of {names()}")
    try:
        settings = yaml.safe_load(path.read_text())
    except yaml.YAMLError as err:
        raise SystemExit(f"error: profile {name!r} ({path}) is not valid YAML: "
                         f"{str(err).splitlines()[0]}; fix that file") from None
    if not isinstance(settings, dict):
        raise SystemExit(f"error: profile {name!r} ({path}) must be a mapping of parameters "
                         f"(NAME: value lines), not a {type(settings).__name__}; fix that file")
    old = settings.get("SPLIT")
    if old in data.RENAMED_SPLITS:
        settings["SPLIT"] = data.RENAMED_SPLITS[old]
        print(f"note: profile {name!r} ({path}): SPLIT: {old} is now called "
              f"{settings['SPLIT']}; write SPLIT: {settings['SPLIT']} there", file=sys.stderr)
    return settings


def parameters(settings: dict, notebook: str) -> dict:
    """A profile's parameters for one notebook, its own overrides applied."""
    common = {k: v for k, v in settings.items() if k.isupper()}
    return {**common, **(settings.get("notebooks") or {}).get(notebook, {})}
