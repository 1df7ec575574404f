"""The notebook is the lesson: each notebook runs its lesson's code in its own cells, and
the package's copy of that code (``whale_utils.lessons``) is generated from them."""

import re
from pathlib import Path

import pytest

from whale_series import export, registry

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


# The only places where the notebooks' package reaches the machinery: a notebook opened
# alone (Colab) writes its profile's synthetic data; EfficientNet-Lite0's weights are
# converted from PyTorch's file; 07's search can run on the cluster.
SEAMS = {("backbones", "weights"), ("session", "profile"), ("session", "params"),
         ("session", "record"), ("session", "registry"), ("gridsearch", "cluster")}


def test_whale_utils_reaches_the_machinery_only_through_its_seams():
    found = set()
    for path in sorted((registry.ROOT / "whale_utils").glob("*.py")):
        for line in path.read_text().splitlines():
            match = re.match(r"\s*from whale_series(?:\.(\w+))? import \(?([\w, ]*)", line)
            if match:
                modules = [match.group(1)] if match.group(1) else \
                    [name.split()[0] for name in match.group(2).split(",")]
                found |= {(path.stem, module) for module in modules}
            assert not re.match(r"\s*import whale_series", line), f"{path.name}: {line}"
    assert found == SEAMS


def test_the_notebooks_package_stays_small():
    """What a learner reads behind the notebooks, the exercises' checks included: at most
    2,500 lines (the machinery is in whale_series)."""
    lines = sum(len(path.read_text().splitlines())
                for path in (registry.ROOT / "whale_utils").glob("*.py"))
    assert lines <= 2500, f"whale_utils holds {lines} lines"
