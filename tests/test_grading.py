"""A course's assignment and its grading, with Otter-Grader's own tools: `make assignment`
(otter assign, which runs the solutions against the tests) and `make grade` (Otter's
Python API, each submission walled off in its own namespaces)."""

import csv
import http.server
import os
import threading

import nbformat
import pytest

from whale_series import assignment, grade, grading, solutions
from whale_utils.session import registry

pytest.importorskip("otter")
NOTEBOOK = "02_dropout"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """`make assignment` for every notebook (otter assign fails unless its own run of the
    solutions scores full marks)."""
    out = tmp_path_factory.mktemp("assignment")
    assert assignment.main(["--out", str(out)]) == 0
    return out


def test_otter_assign_gives_the_solutions_full_marks_for_every_notebook(built):
    zips = grade.autograders(built)
    assert sorted(zips) == registry.notebooks()
    for notebook in registry.notebooks():
        tests = sorted(p.stem for p in (built / notebook / "dist" / "autograder" / "tests").glob("*.py"))
        number = str(int(notebook[:2]))
        assert tests == [f"q{number}_{k}" for k in (1, 2, 3)]


@pytest.mark.parametrize("notebook", registry.notebooks())
def test_the_student_notebook_is_the_notebook_learners_open(built, notebook):
    """Its code is the notebook's, answers at None; Otter adds only each exercise's
    points under its heading, and no cell that needs Otter installed."""
    mine = nbformat.read(registry.NOTEBOOK_DIR / f"{notebook}.ipynb", as_version=4)
    student = nbformat.read(built / notebook / "dist" / "student" / f"{notebook}.ipynb", 4)
    assert [c.source for c in student.cells if c.cell_type == "code"] == \
        [c.source for c in mine.cells if c.cell_type == "code"]
    added = [c.source for c in student.cells if c.cell_type == "markdown"
             and c.source not in {m.source for m in mine.cells}]
    assert len(added) == 3 and all("_Points:_" in text for text in added)


def test_every_hidden_test_is_in_the_autograder_and_not_in_the_students_tests(built):
    for notebook in registry.notebooks():
        dist = built / notebook / "dist"
        for path in (dist / "autograder" / "tests").glob("*.py"):
            exercise = path.stem[1:].replace("_", ".")
            text, public = path.read_text(), (dist / "student" / "tests" / path.name).read_text()
            assert ("grading.hidden" in text) == (exercise in grading.HIDDEN)
            assert "grading.hidden" not in public and "exercises." in public


def solved_student(built, notebook=NOTEBOOK) -> nbformat.NotebookNode:
    return solutions.solved(notebook, source=built / notebook / "dist" / "student" /
                            f"{notebook}.ipynb")


def with_cell(nb, source: str, after: str = "whales = run.load_dataset()"):
    """``nb`` with a cell of ``source`` right after the cell ``after``."""
    at = next(i for i, c in enumerate(nb.cells) if c.source.strip() == after) + 1
    nb.cells.insert(at, nbformat.v4.new_code_cell(source))
    return nb


class Listener(http.server.BaseHTTPRequestHandler):
    hits = []

    def do_GET(self):  # noqa: N802 - http.server's name
        Listener.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def graded(built, tmp_path_factory):
    """`make grade` on a folder of submissions of 02: solved, unanswered, one typical wrong
    answer, a file that is not a notebook, and three that reach for what they must not."""
    folder, teacher = tmp_path_factory.mktemp("submissions"), tmp_path_factory.mktemp("teacher")
    (teacher / ".kaggle").mkdir()
    (teacher / ".kaggle" / "kaggle.json").write_text('{"username": "t", "key": "SECRET-KEY-1"}')
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Listener)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    student = built / NOTEBOOK / "dist" / "student" / f"{NOTEBOOK}.ipynb"
    nbformat.write(solved_student(built), folder / "solved.ipynb")
    nbformat.write(nbformat.read(student, 4), folder / "unanswered.ipynb")
    for other in registry.notebooks():    # every other notebook, as learners get it
        if other != NOTEBOOK:
            nbformat.write(nbformat.read(built / other / "dist" / "student" / f"{other}.ipynb", 4),
                           folder / f"unanswered_{other}.ipynb")
    wrong = solved_student(built)
    for cell in wrong.cells:
        if solutions.answer_tag(cell) == "answer-1":   # the gap the wrong way round
            cell.source = 'gap = history.history["val_accuracy"][-1] - history.history["accuracy"][-1]'
    nbformat.write(wrong, folder / "one_wrong.ipynb")
    (folder / "broken.ipynb").write_text('{"cells": [')
    reach = {
        "network": f'import urllib.request\nurllib.request.urlopen("http://127.0.0.1:'
                   f'{server.server_port}/leak", timeout=5)',
        "home": f'import os\nprint(open({str(teacher / ".kaggle" / "kaggle.json")!r}).read())\n'
                'if os.environ.get("KAGGLE_KEY"):\n    raise RuntimeError("LEAKED " + '
                'os.environ["KAGGLE_KEY"])',
        "repository": f'open({str(registry.ROOT / "notebooks" / "written-by-a-submission.txt")!r}, "w")',
        "memory": "hog = []\nwhile True:\n    hog.append(bytearray(50 * 2**20))",
        "others": f'print(open({str(folder / "solved.ipynb")!r}).read()[:80])',   # a classmate's
    }
    for name, source in reach.items():
        nbformat.write(with_cell(solved_student(built), source), folder / f"reaches_{name}.ipynb")
    env = {"HOME": str(teacher), "KAGGLE_KEY": "SECRET-KEY-2", "KAGGLE_USERNAME": "t"}
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update(env)
    try:
        path = grade.grade_folder(folder, built, jobs=2, time_limit=300, memory_gb=3,
                                  out=tmp_path_factory.mktemp("grades") / "grades.csv")
    finally:
        for k, v in saved.items():
            os.environ.pop(k) if v is None else os.environ.__setitem__(k, v)
        server.shutdown()
    with path.open() as rows:
        return {row["submission"]: row for row in csv.DictReader(rows)}, path.read_text()


def test_the_solutions_get_full_marks_and_the_unanswered_notebook_none(graded):
    rows, _ = graded
    assert (rows["solved.ipynb"]["total"], rows["unanswered.ipynb"]["total"]) == ("4", "0")
    assert [rows["solved.ipynb"][q] for q in ("q2_1", "q2_2", "q2_3")] == ["1", "1", "2"]


def test_every_unanswered_notebook_scores_zero(graded):
    rows, _ = graded
    unanswered = {row["notebook"]: row["total"] for name, row in rows.items()
                  if name.startswith("unanswered")}
    assert unanswered == dict.fromkeys(registry.notebooks(), "0")


def test_one_typical_wrong_answer_loses_exactly_that_exercises_points(graded):
    rows, _ = graded
    assert [rows["one_wrong.ipynb"][q] for q in ("q2_1", "q2_2", "q2_3")] == ["0", "1", "2"]
    assert rows["one_wrong.ipynb"]["total"] == "3"


def test_a_file_that_is_not_a_notebook_gets_its_row_and_the_batch_goes_on(graded):
    rows, _ = graded
    assert rows["broken.ipynb"]["total"] == "0" and "not a notebook" in rows["broken.ipynb"]["note"]
    assert len(rows) == 9 + len(registry.notebooks()) - 1


def test_a_submission_reaching_for_the_network_reaches_nothing(graded):
    rows, _ = graded
    assert Listener.hits == []
    assert "URLError" in rows["reaches_network.ipynb"]["note"]
    assert rows["reaches_network.ipynb"]["total"] == "4"     # its answers still count


def test_a_submission_reaching_for_the_teachers_home_and_variables_finds_nothing(graded):
    rows, text = graded
    assert "FileNotFoundError" in rows["reaches_home.ipynb"]["note"]
    assert "SECRET-KEY" not in text and "LEAKED" not in text


def test_a_submission_reading_a_classmates_submission_finds_nothing(graded):
    rows, _ = graded
    assert "FileNotFoundError" in rows["reaches_others.ipynb"]["note"]
    assert "solved.ipynb" in rows["reaches_others.ipynb"]["note"]


def test_a_submission_writing_into_the_repository_cannot(graded):
    rows, _ = graded
    assert "Read-only file system" in rows["reaches_repository.ipynb"]["note"]
    assert not (registry.ROOT / "notebooks" / "written-by-a-submission.txt").exists()


def test_a_submission_taking_endless_memory_is_stopped_in_its_own_row(graded):
    rows, _ = graded
    row = rows["reaches_memory.ipynb"]
    assert row["total"] == "0" and "more than 3 GB of memory" in row["note"]
    assert rows["solved.ipynb"]["total"] == "4"


def test_a_submission_past_its_time_limit_is_stopped(built, tmp_path):
    folder = tmp_path / "late"
    folder.mkdir()
    nbformat.write(with_cell(solved_student(built), "import time\ntime.sleep(3600)"),
                   folder / "sleeps.ipynb")
    path = grade.grade_folder(folder, built, jobs=1, time_limit=25, out=tmp_path / "g.csv")
    row = next(csv.DictReader(path.open()))
    assert row["total"] == "0" and "time limit (25 s)" in row["note"]


def test_grading_needs_an_assignment_first(tmp_path):
    with pytest.raises(SystemExit, match="make assignment"):
        grade.grade_folder(tmp_path, tmp_path / "none")


def test_the_grades_of_an_earlier_run_are_kept(tmp_path):
    path = tmp_path / "g.csv"
    path.write_text("earlier")
    grade.write_csv([{"submission": "a", "notebook": "n", "q1": "1", "total": "1", "note": ""}],
                    path, ["q1"])
    kept = [p for p in tmp_path.iterdir() if p.name != "g.csv"]
    assert [p.read_text() for p in kept] == ["earlier"] and "a,n,1,1," in path.read_text()
