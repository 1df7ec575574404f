"""One setup call and one record call: the notebook's name, the profile's data, the
parameters it ran with; the renamed split; the repository URL written once."""

import json
import re
import subprocess
import sys
import zipfile

import numpy as np
import pytest
import yaml

from whale_series import links, series
from whale_utils import data, metrics, session
from whale_utils.session import params, profile, registry


def test_notebook_name_comes_from_the_runner_then_jupyter_then_vscode(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert session.notebook_name({}) is None
    monkeypatch.setenv("JPY_SESSION_NAME", "/home/me/notebooks/07_grid_search-Copy1.ipynb")
    assert session.notebook_name({}) == "07_grid_search-Copy1"   # a copy is not 07
    assert session.notebook_name({"NOTEBOOK": "03_dropout_datagen"}) == "03_dropout_datagen"
    monkeypatch.delenv("JPY_SESSION_NAME")
    assert session.notebook_name({"__vsc_ipynb_file__": "/x/02_dropout.ipynb"}) == "02_dropout"


def namespace(data_dir, output_dir, **extra):
    return {"DATA_DIR": str(data_dir), "N_ROWS": 40, "IMG_SIZE": 32, "EPOCHS": 1,
            "BATCH_SIZE": 8, "VALIDATION_SPLIT": 0.3, "SPLIT": "last-rows", "SEED": 0,
            "OUTPUT_DIR": str(output_dir), "VERBOSE": 0, **extra}


def test_start_writes_the_profiles_synthetic_data_when_missing(tmp_path, monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    folder = tmp_path / "data" / "synthetic" / "smoke"
    run = session.start(namespace(folder, tmp_path / "out", NOTEBOOK="42_new"))
    smoke = profile.load("smoke")["synthetic"]
    assert len(data.read_labels(folder, None)) == smoke["images"]
    assert run.notebook == "42_new" and run.params["N_ROWS"] == 40
    # a folder that is not a profile's synthetic data is never written: a clear error
    with pytest.raises(params.ParameterError, match="no train.csv"):
        session.start(namespace(tmp_path / "mine", tmp_path / "out"))
    assert not (tmp_path / "mine").exists()


def test_save_metrics_writes_under_the_notebooks_own_name_with_what_it_used(tiny_set, tmp_path):
    run = session.NotebookRun(notebook="42_new", params=params.check(namespace(tiny_set, tmp_path)))
    whales = run.load_dataset(cache_dir=None)
    scores = np.eye(whales.n_classes)[whales.y_val]
    result = metrics.evaluate_labels(scores, whales.y_val, whales.y_train,
                                     whales.new_whale_label)
    path = run.save_metrics(result, {"loss": [1.0], "accuracy": [0.5]}, whales=whales,
                            backbone_weights="none-offline")
    saved = json.loads(path.read_text())
    assert path == tmp_path / "metrics" / "42_new.json" and saved["notebook"] == "42_new"
    assert saved["params"]["N_ROWS"] == len(whales.frame) and saved["params"]["DATA"] == "synthetic"
    assert saved["params"]["BACKBONE_WEIGHTS"] == "none-offline"
    unnamed = session.NotebookRun(notebook=None, params=run.params)
    assert unnamed.save_metrics(result, whales=whales) is None
    assert sorted(p.name for p in (tmp_path / "metrics").iterdir()) == ["42_new.json",
                                                                        "42_new.rows.csv"]


def test_the_old_split_name_still_works_and_says_so(tmp_path, monkeypatch, capsys):
    ids = [f"w{i % 5}" for i in range(30)]
    with pytest.warns(FutureWarning, match="SPLIT='seed' is now called 'last-rows'"):
        old = data.split_rows(ids, 0.3, "seed")
    new = data.split_rows(ids, 0.3, "last-rows")
    assert all((a == b).all() for a, b in zip(old, new))
    with pytest.warns(FutureWarning):
        assert params.check({"SPLIT": "seed"}) == {"SPLIT": "last-rows"}
    smoke = yaml.safe_load((profile.FOLDER / "smoke.yaml").read_text())
    (tmp_path / "old.yaml").write_text(yaml.safe_dump({**smoke, "SPLIT": "seed"}))
    monkeypatch.setattr(profile, "FOLDER", tmp_path)
    assert profile.load("old")["SPLIT"] == "last-rows"
    assert "SPLIT: seed is now called last-rows" in capsys.readouterr().err


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_colab_badge_and_install_line_use_the_one_repository_url(name):
    source = (registry.NOTEBOOK_DIR / f"{name}.py").read_text()
    wanted = links.links(name)
    assert wanted["badge"] in source, "run `make sync` to set the badge from pyproject.toml"
    assert wanted["install"] in source and wanted["solutions"] in source
    repository = links.repository_url().removeprefix("https://github.com/")
    assert source.count(repository) == 4      # the two badges', the install line's and
    #                                           the solutions', no other


def test_colab_takes_notebook_and_package_at_the_release_tag_not_main():
    import tomllib

    version = tomllib.loads((registry.ROOT / "pyproject.toml").read_text())["project"]["version"]
    wanted = links.links("01_overfit_baseline")
    assert wanted["install"].endswith(f"whale-notebooks@v{version}")
    assert f"/blob/v{version}/notebooks/01_overfit_baseline.ipynb" in wanted["badge"]
    assert "/main/" not in wanted["badge"] and "@main" not in wanted["install"]
    assert wanted["badge"].count(f"/blob/v{version}/notebooks/01_overfit_baseline.ipynb") == 2
    assert "https://kaggle.com/kernels/welcome?src=https://github.com/" in wanted["badge"]


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_the_install_cell_runs_in_the_notebook_before_the_package_is_imported(name):
    """Colab opens the .ipynb: there the install cell is live code, first of all code
    that imports the package; in the .py source it stays commented (jupytext's
    ``active="ipynb"``)."""
    notebook = json.loads((registry.NOTEBOOK_DIR / f"{name}.ipynb").read_text())
    code = [c for c in notebook["cells"] if c["cell_type"] == "code"]
    install = [i for i, c in enumerate(code) if c["metadata"].get("active") == "ipynb"]
    assert len(install) == 1, "one install cell, marked active=\"ipynb\""
    source = "".join(code[install[0]]["source"])
    assert links.links(name)["install"] in source and not source.startswith("# import")
    compile(source, name, "exec")                       # live code, not comments
    first_import = min(i for i, c in enumerate(code) if "whale_utils import" in "".join(c["source"]))
    assert install[0] < first_import


def test_stamp_links_rewrites_the_url_from_pyproject(tmp_path, monkeypatch):
    page = tmp_path / "01_x.py"
    page.write_text("# [![Open In Colab](old)](https://colab.research.google.com/github/a/b)\n"
                    '"git+https://github.com/a/b"\n'
                    "# [`notebooks/solutions/01_x.py`](https://github.com/a/b/blob/v1/x)\n")
    monkeypatch.setattr(links, "repository_url", lambda: "https://github.com/me/fork")
    monkeypatch.setattr(links, "release_tag", lambda: "v9.9.9")
    assert links.stamp_links(page) and not links.stamp_links(page)
    assert "github/me/fork/blob/v9.9.9/notebooks/01_x.ipynb" in page.read_text()
    assert '"git+https://github.com/me/fork@v9.9.9"' in page.read_text()
    assert "(https://github.com/me/fork/blob/v9.9.9/notebooks/solutions/01_x.py)" in page.read_text()


def test_the_installed_package_carries_the_profiles_and_the_url(tmp_path):
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(tmp_path), str(registry.ROOT)], check=True)
    (wheel,) = tmp_path.glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {f"whale_utils/profiles/{p}.yaml" for p in profile.names()} <= set(names)
    meta = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("METADATA"))).decode()
    assert f"Project-URL: Repository, {links.repository_url()}" in meta


def test_profile_seed_is_the_students_setting_in_one_switch(capsys):
    """``PROFILE = "seed"`` in notebook 04's parameters cell: the student's rows, size,
    epochs and ResNet50V2 on the competition's photos, in place of the cell's values."""
    cell = {}
    exec(re.search(r'# %% tags=\["parameters"\]\n(.*?)\n\n',
                   (registry.NOTEBOOK_DIR / "04_transfer_learning.py").read_text(), re.S)[1], {}, cell)
    assert cell["PROFILE"] is None and cell["N_ROWS"] != 10000
    cell["PROFILE"] = "seed"
    chosen = profile.apply(cell, "seed", "04_transfer_learning")
    assert (cell["N_ROWS"], cell["IMG_SIZE"], cell["EPOCHS"]) == (10000, 100, 10)
    assert (cell["DATA_DIR"], cell["BACKBONE"], cell["BACKBONE_WEIGHTS"]) == \
        ("kaggle", "resnet50v2", "imagenet")
    assert set(chosen) <= set(cell) and "DROPOUT" not in chosen
    assert "PROFILE = 'seed': DATA_DIR = 'kaggle', N_ROWS = 10000" in capsys.readouterr().out


def test_profile_replaces_the_cell_in_session_start(tmp_path, monkeypatch):
    monkeypatch.chdir(registry.NOTEBOOK_DIR)
    cell = {"PROFILE": "smoke", "DATA_DIR": "elsewhere", "N_ROWS": 3, "IMG_SIZE": 48,
            "SEED": 1, "OUTPUT_DIR": str(tmp_path / "mine")}
    run = session.start(cell)
    smoke = profile.load("smoke")
    assert (run.params["N_ROWS"], run.params["IMG_SIZE"]) == (smoke["N_ROWS"], smoke["IMG_SIZE"])
    assert cell["DATA_DIR"] == smoke["DATA_DIR"] and "EPOCHS" not in cell


def test_an_unknown_profile_is_named_with_the_choices():
    with pytest.raises(params.ParameterError, match=r"PROFILE='sed'.*'seed'"):
        session.start({"PROFILE": "sed"})
