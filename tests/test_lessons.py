"""The notebook is the lesson: each notebook runs its lesson's code in its own cells, and
the package's copy of that code (``whale_utils.lessons``) is generated from them."""

import re
from pathlib import Path

import pytest

from whale_series import export
from whale_utils.session import registry

NOTEBOOKS = registry.NOTEBOOK_DIR

# Each notebook's lesson, as a call that one of its code cells must contain.
LESSONS = {
    "01_overfit_baseline": [r"layers\.Conv2D\(", r"keras\.optimizers\.Adam\(",
                            r"keras\.callbacks\.ReduceLROnPlateau\("],
    "02_dropout": [r"layers\.Dropout\(dropout.*# new"],
    "03_dropout_datagen": [r"keras\.Sequential\(\[\n.*\n\s+augmentation,"],
    "04_transfer_learning": [r"layers\.Dense\(256", r"backbone\.trainable = False"],
    "05_transfer_datagen": [r"head\(backbone\(augmentation\(photos\)\)\)"],
    "06_transfer_early_stopping": [r"keras\.callbacks\.EarlyStopping\("],
    "07_grid_search": [r"GridSearchCV\(", r"KerasClassifier\("],
    "08_metric_learning": [r"class AngularMargin\(layers\.Layer\)",
                           r"ops\.cos\(theta \+ self\.margin\)",
                           r"def retrieval_scores\("],
}


def code_cells(name: str) -> str:
    """The code of a notebook source's code cells (Markdown and Colab-only cells left out)."""
    parts = export.CELL.split((NOTEBOOKS / f"{name}.py").read_text())
    return "\n".join(body for header, body in zip(parts[1::2], parts[2::2])
                     if "[markdown]" not in header and 'active="ipynb"' not in header)


@pytest.mark.parametrize("name", sorted(LESSONS))
def test_each_notebook_runs_its_lesson_in_its_own_cells(name):
    code = code_cells(name)
    for lesson in LESSONS[name]:
        assert re.search(lesson, code), f"{name}: no code cell matches {lesson!r}"
    assert "show_code" not in (NOTEBOOKS / f"{name}.py").read_text()


def test_every_notebook_has_its_lesson_listed():
    assert sorted(LESSONS) == registry.notebooks()


def test_the_package_copy_of_the_lessons_equals_the_notebooks():
    """`make sync` wrote whale_utils/lessons.py from the cells tagged export: an edit of
    either side alone fails here."""
    assert export.MODULE.read_text() == export.module_text(), \
        "whale_utils/lessons.py differs from the notebooks' exported cells: run make sync"


def test_the_exporter_gathers_imports_and_names_each_notebook(tmp_path):
    cell = '# %% tags=["export"]\n'
    (tmp_path / "01_a.py").write_text(
        "# %%\nx = 1\n\n" + cell + "import keras\nfrom keras import layers\n\n\n"
        "def a():\n    return layers\n")
    (tmp_path / "02_b.py").write_text(
        cell + "from keras import ops\nfrom whale_utils.lessons import a\n\n\n"
        "def b():\n    return a(), ops\n\n# %% [markdown]\n# text\n")
    text = export.module_text(tmp_path)
    assert "import keras\nfrom keras import layers, ops\n" in text
    assert "whale_utils.lessons" not in text and "x = 1" not in text
    assert text.index("taught in notebooks/01_a.py") < text.index("def a():") \
        < text.index("taught in notebooks/02_b.py") < text.index("def b():")
    compile(text, "lessons.py", "exec")


def test_an_exported_import_on_several_lines_is_refused(tmp_path):
    (tmp_path / "01_a.py").write_text('# %% tags=["export"]\nfrom keras import (\n    ops)\n')
    with pytest.raises(ValueError, match=r"01_a.py: write an exported cell's import on one line"):
        export.module_text(tmp_path)


def test_notebooks_import_nothing_from_the_machinery():
    for path in sorted(Path(NOTEBOOKS).glob("[0-9][0-9]_*.py")):
        assert "whale_series" not in path.read_text(), path.name


def a_copy_of_02(tmp_path) -> Path:
    """The notebooks as a new user has them after `cp 02_dropout.py 09_my_dropout.py`."""
    for path in Path(NOTEBOOKS).glob(registry.PATTERN):
        (tmp_path / path.name).write_text(path.read_text())
    copy = tmp_path / "09_my_dropout.py"
    copy.write_text((NOTEBOOKS / "02_dropout.py").read_text())
    return copy


def test_a_name_exported_by_two_notebooks_is_refused_with_how_to_go_on(tmp_path, capsys):
    copy = a_copy_of_02(tmp_path)
    module = tmp_path / "lessons.py"
    module.write_text("# the module as it was\n")
    with pytest.raises(ValueError) as refused:
        export.module_text(tmp_path)
    message = str(refused.value)
    for words in ("`dropout_cnn`", "notebooks/02_dropout.py", "notebooks/09_my_dropout.py",
                  "Rename it", "`export` tag"):
        assert words in message
    assert export.main([], folder=tmp_path, module=module) == 1   # `make sync` stops
    assert "`dropout_cnn`" in capsys.readouterr().err
    assert module.read_text() == "# the module as it was\n"
    assert export.main(["--check"], folder=tmp_path, module=module) == 1

    # Either way on that the message gives works: the tag dropped, or the name changed.
    source = copy.read_text()
    copy.write_text(source.replace('tags=["export"]', ""))
    assert "09_my_dropout" not in export.module_text(tmp_path)
    copy.write_text(re.sub(r"\bdropout_cnn\b", "my_dropout_cnn", source))
    assert "def my_dropout_cnn(" in export.module_text(tmp_path)


def test_an_exported_cell_that_does_not_parse_is_named(tmp_path):
    (tmp_path / "01_a.py").write_text('# %% tags=["export"]\ndef a(:\n    pass\n')
    with pytest.raises(ValueError, match=r"notebooks/01_a.py: an exported cell does not parse"):
        export.module_text(tmp_path)
