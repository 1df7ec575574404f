"""The notebooks, their golden copies, the profiles and the pins agree with each other."""

import os
import re
import tomllib
from pathlib import Path

import jupytext
import nbformat
import pytest
import yaml

from whale_series import kernels, series
from whale_utils import augment, embedding
from whale_utils.session import params, profile

ROOT = Path(__file__).resolve().parents[1]
SHARED_NAMES = set(params.SHARED)


def code_cells(notebook):
    return [cell.source.strip() for cell in notebook.cells if cell.cell_type == "code"
            and "injected-parameters" not in cell.metadata.get("tags", [])]


def cells(notebook):
    return [(cell.cell_type, cell.source.strip()) for cell in notebook.cells]


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_py_and_ipynb_are_in_sync(name):
    source = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    paired = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    assert cells(paired) == cells(source), f"run `make sync`: {name}.ipynb differs from {name}.py"
    assert not any(cell.get("outputs") for cell in paired.cells), f"{name}.ipynb has outputs"


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_golden_notebook_runs_the_current_code(name):
    source = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    golden = nbformat.read(ROOT / "tests" / "golden" / f"{name}.ipynb", as_version=4)
    assert code_cells(golden) == code_cells(source), \
        f"tests/golden/{name}.ipynb is stale: run `make golden`"


def parameters_cells(name: str) -> list[str]:
    """The sources of the cells tagged `parameters` in a notebook's .py."""
    notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    return [c.source for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]


def parameter_values(name: str) -> dict:
    """The defaults a notebook's parameters cell sets."""
    values = {}
    exec(parameters_cells(name)[0], {}, values)
    return values


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_parameters_cell_holds_shared_literals(name):
    tagged = parameters_cells(name)
    assert len(tagged) == 1
    names = set(re.findall(r"^([A-Z_]+) = ", tagged[0], re.M))
    assert names <= set(params.CHECKS) and {"DATA_DIR", "SEED", "OUTPUT_DIR"} <= names
    # the shared parameters first, then the notebook's own knobs (its lesson's)
    order = re.findall(r"^([A-Z_]+) = ", tagged[0], re.M)
    assert order == sorted(order, key=lambda n: n in params.LESSON_KNOBS)
    for line in tagged[0].splitlines():
        literal = r'("[^"]*"|-?[\d.]+|None|True|False)'
        assert re.fullmatch(rf'[A-Z_]+ = ({literal}|\[{literal}(, {literal})*\])', line), line


@pytest.mark.parametrize("name", profile.names())
def test_profiles_name_only_shared_parameters(name):
    values = yaml.safe_load((ROOT / "notebooks" / "params" / f"{name}.yaml").read_text())
    assert {k for k in values if k.isupper()} == SHARED_NAMES
    for notebook, overrides in values.get("notebooks", {}).items():
        assert notebook in series.NOTEBOOKS and set(overrides) <= set(params.CHECKS)


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_parameters_cell_defaults_are_the_default_profile(name):
    """Run from Jupyter, a notebook does what `make run-all` does with the default
    profile (it writes into the same outputs/default)."""
    values = parameter_values(name)
    default = profile.parameters(profile.load("default"), name)
    assert {k: v for k, v in values.items() if k in params.SHARED} == \
        {k: v for k, v in default.items() if k in values}


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_own_knobs_default_to_the_students_values(name):
    """A notebook's own parameters start at what the student used, so that the series
    retells the student's runs unless a reader turns a knob."""
    values = parameter_values(name)
    students = {"DROPOUT": 0.3, "MIN_DELTA": 0.5, "PATIENCE": 1, "CV_FOLDS": 2,
                "ROTATION": augment.IMAGE_DATA_GENERATOR["rotation_range"],
                "ZOOM": augment.IMAGE_DATA_GENERATOR["zoom_range"],
                "SHIFT": augment.IMAGE_DATA_GENERATOR["width_shift_range"],
                "MONITOR": "val_loss", "OPTIMIZERS": ["adam", "sgd", "adamax", "nadam"],
                # 08's own method: the package's defaults
                "MARGIN": embedding.MARGIN, "NEW_WHALE_THRESHOLD": None, "TRUNK": "backbone"}
    for knob in set(values) & set(params.LESSON_KNOBS):
        assert values[knob] == students[knob], knob


def test_seed_profile_is_the_students_procedure():
    params = profile.load("seed")
    assert (params["N_ROWS"], params["IMG_SIZE"], params["EPOCHS"]) == (10000, 100, 10)
    assert (params["VALIDATION_SPLIT"], params["SPLIT"]) == (0.3, "last-rows")
    assert profile.parameters(params, "03_dropout_datagen")["BATCH_SIZE"] == 64


def test_environment_yml_pins_equal_the_lock():
    lock = set(re.findall(r"^([\w.-]+==[^\s\\]+)", (ROOT / "requirements.lock").read_text(),
                          re.M))
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert {p for p in pip if "==" in p} == lock, "run `make lock`"
    assert any(re.match(r"tensorflow[-_]cpu==2\.21\.", line) for line in lock)


def test_the_lock_holds_only_what_the_declared_dependencies_pull_in():
    """requirements.lock is compiled from pyproject.toml (and tools/lock.in): every package
    in it is a declared dependency or one of theirs, as the installed metadata says;
    nothing leaks in from whatever else a venv once held."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    locked = {canonicalize_name(line.split("==")[0]) for line in
              (ROOT / "requirements.lock").read_text().splitlines() if re.match(r"^[\w.-]+==", line)}
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = [*project["dependencies"],        # every extra but the backends' is locked
                *[d for name, extra in project["optional-dependencies"].items()
                  if name not in ("jax", "torch") for d in extra],
                *[line for line in (ROOT / "tools" / "lock.in").read_text().splitlines()
                  if line.strip() and not line.startswith("#")]]
    wanted = [(Requirement(text), ("dev",)) for text in declared]
    pulled: set[str] = set()
    while wanted:
        requirement, extras = wanted.pop()
        name = canonicalize_name(requirement.name)
        if requirement.marker and not any(requirement.marker.evaluate({"extra": e})
                                          for e in extras or ("",)):
            continue
        if name == "tensorflow":               # the lock has the CPU build in its place
            name = "tensorflow-cpu"
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in pulled:
            continue
        pulled |= {key, name}
        for text in metadata.requires(name) or []:
            wanted.append((Requirement(text), tuple(requirement.extras)))
    assert locked - pulled == set(), "in the lock but pulled in by nothing declared"
    assert {"tensorflow-cpu", "keras", "scikeras", "uv"} <= locked
    assert "pyflakes" not in locked


def test_select_names_unknown_notebook():
    assert series.select(["3", "07_grid_search"]) == ["03_dropout_datagen", "07_grid_search"]
    with pytest.raises(SystemExit, match="no notebook '09'"):
        series.select(["09"])


def test_execute_refuses_to_write_over_a_source(tmp_path):
    with pytest.raises(SystemExit, match="refusing to overwrite"):
        kernels.execute("01_overfit_baseline", {},
                       ROOT / "notebooks" / "01_overfit_baseline.ipynb")


def test_a_notebook_starts_after_the_one_it_builds_on():
    """02 compares itself with 01 on the same rows, 05-08 with 04: in one run they come
    after it, and the longest-first order is kept otherwise."""
    longest = ["08_metric_learning", "02_dropout", "05_transfer_datagen", "03_dropout_datagen",
               "04_transfer_learning", "01_overfit_baseline"]
    order = series.after_what_they_build_on(longest)
    assert sorted(order) == sorted(longest)
    for later, earlier in [("08", "04"), ("05", "04"), ("02", "01"), ("03", "02")]:
        names = [nb[:2] for nb in order]
        assert names.index(earlier) < names.index(later), order
    assert order[:3] == ["01_overfit_baseline", "04_transfer_learning", "08_metric_learning"]
    assert series.after_what_they_build_on(["02_dropout", "06_transfer_early_stopping"]) == \
        ["02_dropout", "06_transfer_early_stopping"]        # 01 and 04 are not in this run


def test_the_longest_notebooks_start_first(tmp_path):
    assert series.longest_first(["01_a", "02_b", "03_c", "04_d"],
                                {"01_a": 100.0, "02_b": 300.0, "04_d": 50.0}) == \
        ["03_c", "02_b", "01_a", "04_d"]           # never timed: first; ties keep the order
    assert series.read_timings(tmp_path) == {}
    series.write_timings(tmp_path, {"01_a": 12.34})
    series.write_timings(tmp_path, {"02_b": 5.0})
    assert series.read_timings(tmp_path) == {"01_a": 12.3, "02_b": 5.0}
    (tmp_path / series.TIMINGS).write_text("not json")
    assert series.read_timings(tmp_path) == {}     # a damaged file only loses the order


def test_a_run_prints_no_kernel_chatter(tiny_set, tmp_path):
    """The kernel's own log (it warned once per notebook that it runs over TCP on
    loopback) and TensorFlow's C++ runtime lines (I0000 ..., E0000 ...) stay off the
    console, in the notebook's kernel log; the run itself completes."""
    import json
    import subprocess
    import sys

    params = {"DATA_DIR": str(tiny_set), "N_ROWS": None, "IMG_SIZE": 32, "EPOCHS": 1,
              "OUTPUT_DIR": str(tmp_path / "out"), "VERBOSE": 0, "BACKBONE_WEIGHTS": "none"}
    code = ("import json, sys, pathlib; from whale_series import kernels; "
            "kernels.execute('06_transfer_early_stopping', json.loads(sys.argv[1]), "
            "pathlib.Path(sys.argv[2]))")
    # TensorFlow's informational lines on (which ones a CPU prints differs: oneDNN's
    # notice on some, the CPU feature guard's on others), to see where they go.
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"}
    done = subprocess.run([sys.executable, "-c", code, json.dumps(params),
                           str(tmp_path / "out" / "06.ipynb")], env=env,
                          capture_output=True, text=True, timeout=600, cwd=ROOT / "notebooks")
    assert done.returncode == 0, done.stderr[-2000:]
    assert (tmp_path / "out" / "metrics" / "06_transfer_early_stopping.json").is_file()
    console = done.stdout + done.stderr
    assert "[IPKernelApp]" not in console and "without encryption" not in console
    assert "I0000" not in console and "oneDNN" not in console and "absl" not in console
    log = (tmp_path / "out" / "logs" / "06.log").read_text()
    assert "I0000" in log or "oneDNN" in log, log[-2000:]


def test_licence_citation_and_changelog_agree_with_pyproject():
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert project["license"]["text"] == "MIT"
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    citation = yaml.safe_load((ROOT / "CITATION.cff").read_text())
    assert citation["version"] == project["version"], "CITATION.cff's version is stale"
    import whale_utils
    assert whale_utils.__version__ == project["version"]
    assert citation["repository-code"] == project["urls"]["Repository"]
    assert any("student" in ref["authors"][0].get("name", "") for ref in citation["references"])
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## {re.escape(project['version'])} ", changelog, re.M), \
        f"CHANGELOG.md has no section for version {project['version']}"


RESULT_WORDS = re.compile(r"accuracy|of the rows|faster|slower|minutes|seconds|beats|better|"
                          r"worse|overfit|\bscor|\breached\b", re.I)
ATTRIBUTED = re.compile(r"student|\btheir\b|competition|leader|winner|\binterval\b", re.I)


def numbers_of_prose(sentence: str) -> list[str]:
    """The numbers a sentence states, leaving out notebook numbers, metric names and
    shapes (3x3)."""
    sentence = re.sub(r"MAP@5|AP@5|top-5|\bnotebooks? \d\d(?:-\d\d)?|\(\d\d\)|\d+x\d+", "",
                      sentence)
    return re.findall(r"(?<![\w.])(?!0\d\b)\d+(?:\.\d+)?", sentence)


def hand_typed_results(markdown: str) -> list[str]:
    """Sentences of a notebook's Markdown that state a number about a result without
    naming whose it is (this run's results are generated, never typed)."""
    text = re.sub(r"`[^`]*`|\]\([^)]*\)|Exercise \d\.\d", "", markdown)   # code, links, ids
    return [" ".join(s.split()) for s in re.split(r"(?<=[.;!?])\s+", text)
            if numbers_of_prose(s) and RESULT_WORDS.search(s) and not ATTRIBUTED.search(s)]


def test_the_prose_check_catches_a_typed_result():
    assert hand_typed_results("The model scores 0.61 MAP@5, 20 % better than 02.")
    assert hand_typed_results("About 38 % of the rows are `new_whale`.")
    assert not hand_typed_results("Notebook 01 overfits when `EPOCHS` is large (see 02).")
    assert not hand_typed_results("The student's search printed 0.86-0.95 accuracy.")


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_notebook_prose_types_no_result_and_takes_the_students_figures_from_narrate(name):
    from whale_utils import narrate

    student = {f"{v:g}" for figures in narrate.STUDENT.values() for v in figures.values()}
    student |= {str(n) for run in narrate.STUDENT_MINUTES.values()
                for n in (*run["minutes"], run["epochs"])}
    notebook = jupytext.read(ROOT / "notebooks" / f"{name}.py")
    for cell in notebook.cells:
        if cell.cell_type != "markdown":
            continue
        assert hand_typed_results(cell.source) == [], \
            "a result typed in prose: generate it (narrate) or print it from a cell"
        text = re.sub(r"`[^`]*`|\]\([^)]*\)", "", cell.source)
        for sentence in re.split(r"(?<=[.;!?])\s+", text):
            if re.search(r"student", sentence) and RESULT_WORDS.search(sentence):
                assert set(numbers_of_prose(sentence)) <= student, \
                    f"{sentence!r}: the student's figures live in narrate.STUDENT"


PACKAGES = ("whale_utils", "whale_series")


def import_graph() -> dict[str, set[str]]:
    """Every module of the two packages (sub-packages included) and the modules of theirs
    it imports, at the top or inside a function, by ``import``, ``from`` or
    ``importlib.import_module``."""
    import ast

    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            modules[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def ours(name):
        return name.split(".")[0] in PACKAGES

    graph = {}
    for module, path in modules.items():
        imported = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                raise AssertionError(f"{path}: a relative import; write it in full")
            if isinstance(node, ast.ImportFrom) and ours(node.module or ""):
                imported |= {f"{node.module}.{alias.name}" if f"{node.module}.{alias.name}"
                             in modules else node.module for alias in node.names}
            elif isinstance(node, ast.Import):
                imported |= {alias.name for alias in node.names if ours(alias.name)}
            elif (isinstance(node, ast.Call) and getattr(node.func, "attr", getattr(
                    node.func, "id", None)) in ("import_module", "__import__") and node.args
                  and isinstance(node.args[0], ast.Constant)
                  and ours(str(node.args[0].value))):
                imported.add(node.args[0].value)
        graph[module] = imported - {module}
    return graph


def test_the_two_packages_have_no_import_circle():
    """No module reaches itself through the imports between the modules of whale_utils
    and whale_series (cluster once imported series back, and series imported cluster)."""
    graph = import_graph()
    assert {"whale_series.series", "whale_series.cluster", "whale_utils.session.registry",
            "whale_utils.backbones.weights"} <= set(graph)
    assert "whale_series.kernels" in graph["whale_series.cluster"]

    def reaches(start, node, seen):
        for target in graph.get(node, ()):
            if target == start or (target not in seen and reaches(start, target, seen | {target})):
                return True
        return False
    assert [module for module in graph if reaches(module, module, set())] == []


def test_whale_utils_never_imports_whale_series():
    """One direction: what a notebook runs is in whale_utils, and whale_series, which
    drives notebooks from outside, imports it; never the reverse, even lazily."""
    graph = import_graph()
    assert "whale_utils.session.registry" in graph["whale_series.series"]   # it sees imports
    assert {module: sorted(target for target in targets if target.startswith("whale_series"))
            for module, targets in graph.items()
            if module.startswith("whale_utils")
            and any(target.startswith("whale_series") for target in targets)} == {}


def test_the_runner_itself_prints_no_tensorflow_start_up_lines():
    import subprocess
    import sys

    def stderr_of(code):   # TensorFlow's informational lines on, as on any CPU
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                              timeout=300, cwd=ROOT,
                              env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "0"})
        assert done.returncode == 0, done.stderr[-2000:]
        return done.stderr
    def chatter(text):
        return [line for line in text.splitlines() if line.startswith(series.NATIVE_CHATTER)]
    tensorflow = "import tensorflow as tf; tf.constant(1) + 1"
    assert chatter(stderr_of(tensorflow))             # what TensorFlow prints by itself
    quiet = stderr_of("from whale_series import series; series.import_tensorflow_quietly(); "
                      + tensorflow + "; import sys; print('a real error', file=sys.stderr)")
    assert chatter(quiet) == [] and quiet.rstrip().endswith("a real error")
