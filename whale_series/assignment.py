"""``make assignment``: an Otter-Grader assignment from each notebook and its solutions.

Nothing here is a second copy of the notebooks: each exercise of ``notebooks/NN_name.ipynb``
(its heading, its answer cell tagged ``answer-N``, the check cell after it) becomes an Otter
question whose prompt is the answer cell as learners get it (answers at ``None``), whose
solution is ``notebooks/solutions/NN_name.py``'s cell of the same tag, and whose tests call
the notebook's own check: public, the check cell itself; hidden, the same check on other
inputs (``whale_series.grading.hidden``). Otter Assign then writes the student notebook,
the autograder and runs the solutions against the tests.

    python -m whale_series.assignment [--out outputs/assignment] [--nb 02 ...]
    python -m whale_series.assignment --solved FOLDER   # solved submissions, a dry run
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import yaml

from whale_series import grading, solutions
from whale_utils.session import registry

POINTS = {"compute": 1, "change and predict": 1, "build": 2}
HEADING = re.compile(r"### Exercise (\d+\.\d+) · (compute|change and predict|build)")
PLUGIN = "whale_series.grading.GradingProfile"


def raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def config(notebook: str) -> str:
    """The notebook's ``# ASSIGNMENT CONFIG``: no Otter cells added to what learners see,
    the solutions run against the tests, tests as Python functions, the grading profile."""
    settings = {"name": notebook, "init_cell": False, "check_all_cell": False,
                "export_cell": False, "run_tests": True, "solutions_pdf": False,
                "template_pdf": False, "show_question_points": True,
                "tests": {"files": True, "ok_format": False},
                "plugins": [{PLUGIN: {"notebook": notebook}}],
                "generate": {"pdf": False}}
    return "# ASSIGNMENT CONFIG\n" + yaml.safe_dump(settings, sort_keys=False)


def test_cell(name: str, body: str, hidden: bool) -> nbformat.NotebookNode:
    """One Otter test: a function of the notebook's globals (``env``)."""
    header = "# HIDDEN\n" if hidden else ""
    return nbformat.v4.new_code_cell(header + f"def {name}(env):\n" + textwrap.indent(body, "    "))


def question(exercise: str, kind: str, prompt: list, answer, solution: str,
             check: str) -> list:
    """The cells of one Otter question: prompt, answer (learner) and solution, tests."""
    name = "q" + exercise.replace(".", "_")
    public = (f"feedback = eval({check!r}, env)\n"
              "assert feedback.passed, feedback.text\n")
    hidden = (f"from whale_series import grading\n"
              f"feedback = grading.hidden({exercise!r}, env, {check!r})\n"
              "assert feedback.passed, feedback.text\n")
    # One cell: learners get the prompt (the answer cell as the notebook has it), the
    # autograder's copy runs the solution (the prompt there is a string, doing nothing).
    both = (f'""" # BEGIN PROMPT\n{answer.source}\n""" # END PROMPT\n'
            f"# BEGIN SOLUTION NO PROMPT\n{solution}\n# END SOLUTION")
    answer_cell = nbformat.v4.new_code_cell(both, metadata=dict(answer.metadata))
    return [raw(f"# BEGIN QUESTION\nname: {name}\npoints: {POINTS[kind]}\ncheck_cell: false"),
            *prompt, raw("# BEGIN SOLUTION"), answer_cell, raw("# END SOLUTION"),
            raw("# BEGIN TESTS"), test_cell(f"test_{name}_public", public, hidden=False),
            *([test_cell(f"test_{name}_other_inputs", hidden, hidden=True)]
              if exercise in grading.HIDDEN else []),
            raw("# END TESTS"), raw("# END QUESTION")]


def master(notebook: str) -> nbformat.NotebookNode:
    """Otter's master notebook of ``notebook``, built from it and its solutions file."""
    nb = nbformat.read(registry.NOTEBOOK_DIR / f"{notebook}.ipynb", as_version=4)
    solved = solutions.solutions_of(notebook)
    cells, pending = [raw(config(notebook))], []
    for index, cell in enumerate(nb.cells):
        heading = HEADING.search(cell.source) if cell.cell_type == "markdown" else None
        tag = solutions.answer_tag(cell)
        if heading:
            pending = [cell]
        elif tag:
            exercise, kind = HEADING.search(pending[0].source).groups()
            check = nb.cells[index + 1].source.strip()
            cells[-len(pending):] = []   # the heading moves into the question
            cells += question(exercise, kind, pending, cell, solved[tag], check)
            pending = []
            continue
        elif pending:
            pending.append(cell)
        cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells, metadata=nb.metadata)


def build(notebook: str, out: Path) -> Path:
    """Write the master notebook and run ``otter assign`` on it into ``out/<notebook>/``."""
    folder = out / notebook
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    path = folder / f"{notebook}.ipynb"
    nbformat.write(master(notebook), path)
    done = subprocess.run([sys.executable, "-m", "otter", "assign", path.name, "dist"],
                          cwd=folder, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"error: otter assign refused {path}:\n{done.stdout}{done.stderr}")
    return folder / "dist"


def write_solved(out: Path, folder: Path) -> list[Path]:
    """Each student notebook of ``out`` answered with its solutions, into ``folder``: a
    folder of submissions that must score full marks (a dry run of ``make grade``)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for student in sorted(out.glob("*/dist/student/*.ipynb")):
        path = folder / student.name
        if path.exists():
            raise SystemExit(f"error: {path} exists: choose an empty folder for --solved")
        nbformat.write(solutions.solved(student.stem, source=student), path)
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_series.assignment",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(registry.ROOT / "outputs" / "assignment"))
    parser.add_argument("--nb", nargs="*", help="notebook numbers (all by default)")
    parser.add_argument("--solved", metavar="FOLDER", help="write the built student notebooks "
                        "answered with their solutions into FOLDER (build nothing)")
    args = parser.parse_args(argv)
    if args.solved:
        written = write_solved(Path(args.out), Path(args.solved))
        print(f"{len(written)} solved submissions in {args.solved}")
        return 0 if written else 1
    chosen = [nb for nb in registry.notebooks() if not args.nb or nb[:2] in args.nb]
    for notebook in chosen:
        dist = build(notebook, Path(args.out))
        print(f"{notebook}: student notebook in {dist / 'student'}, autograder in "
              f"{dist / 'autograder'}; the solutions scored full marks")
    return 0


if __name__ == "__main__":
    sys.exit(main())
