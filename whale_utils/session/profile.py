"""The profiles: named sets of parameters in ``notebooks/params/<name>.yaml``.

    profile.load("default")                    # every parameter, checked names
    profile.parameters(settings, "08_metric_learning")   # with the notebook's overrides
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

from whale_utils import data
from whale_utils.session import registry

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


def apply(namespace: dict, name: str, notebook: str | None) -> dict:
    """``PROFILE = name`` in a parameters cell: the profile's values replace the cell's
    (those the notebook has), as ``make run PROFILE=name`` would set them."""
    chosen = {k: v for k, v in parameters(load(name), notebook or "").items() if k in namespace}
    namespace.update(chosen)
    print(f"PROFILE = {name!r}: " + ", ".join(f"{k} = {v!r}" for k, v in chosen.items()))
    return chosen


def prepare_synthetic_data(data_dir: str | Path) -> bool:
    """Write the synthetic data a profile reads from ``.../synthetic/<profile>`` when it is
    missing (a notebook opened alone, as in Colab). ``False`` when ``data_dir`` is not
    such a folder or already has its ``train.csv``."""
    from whale_utils.data import synthetic

    folder = Path(data_dir)
    if (folder / "train.csv").is_file() or folder.parent.name != "synthetic":
        return False
    if folder.name not in names():
        return False
    options = load(folder.name).get("synthetic")
    if not options:
        return False
    print(f"writing the {folder.name!r} profile's synthetic data to {folder} "
          f"({options['images']} photos). For the competition's photos write "
          'DATA_DIR = "kaggle" (in a Kaggle Notebook, Colab or at home: see data/README.md)')
    synthetic.generate(folder, options["images"], options["seed"], options["size"])
    return True
