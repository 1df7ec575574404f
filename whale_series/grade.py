"""``make grade SUBMISSIONS=folder``: grade a folder of submitted notebooks with Otter.

Each submission is graded by Otter's Python API (``otter.api.grade_submission``: no
Docker) against the autograder ``make assignment`` wrote for its notebook, on the grading
profile. Two run at a time; the grades go to ``outputs/grades/<folder>.csv``: a row per
submission, a column per exercise, the total, and a note on anything that went wrong. A
submission that is not a notebook, fails, runs out of time or of memory gets its row with
what it scored and why; the batch goes on.

Grading runs code that learners wrote, so each submission runs in its own process tree:

- in new mount, PID and network namespaces where the system allows it (``unshare``; in a
  user namespace for a user who is not root): no network at all (not even this machine's
  loopback); the teacher's home (credentials, ``~/.kaggle``...), the submissions folder
  and the series' outputs mounted empty, what grading needs from them (Python, the
  repository) mounted back read-only; everything it started dies with it;
- with a scratch home, a scratch temporary folder and an environment of a few variables
  (no credential, no token: nothing of the teacher's environment);
- stopped past ``--time-limit`` seconds, ``--memory-gb`` of memory or ``PROCESSES``
  processes (its whole tree); files of at most ``FILE_MB``.

What it does not protect against: reading what the rest of the system lets this user
read (``/etc``, other users' world-readable files), using the CPU for its whole time
limit, the short burst of a fork bomb before it is stopped, or a kernel exploit. Otter's
own answer to those is its Docker grading (``otter grade``).

    python -m whale_series.grade SUBMISSIONS [--assignment outputs/assignment] [--jobs 2]
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat

from whale_utils.session import registry

PROCESSES = 256          # per submission: a kernel and TensorFlow's threads need ~100
FILE_MB = 512            # the largest file a submission may write
# What a graded kernel keeps of the environment: where programs and this code are (a
# checkout on PYTHONPATH grades with itself), and the locale. Never a credential.
KEPT_VARIABLES = ("PATH", "PYTHONPATH", "LANG", "LC_ALL", "TZ")


def namespaces() -> list[str]:
    """The ``unshare`` prefix this system allows: new mount, PID and network namespaces
    (inside a user namespace for an unprivileged user), or nothing."""
    for prefix in (["unshare", "--mount", "--pid", "--fork", "--kill-child", "--net"],
                   ["unshare", "--user", "--map-root-user", "--mount", "--pid", "--fork",
                    "--kill-child", "--net"]):
        try:
            if subprocess.run([*prefix, "true"], capture_output=True, timeout=10).returncode == 0:
                return prefix
        except (OSError, subprocess.TimeoutExpired):
            pass
    return []


def autograders(folder: Path) -> dict[str, Path]:
    """Notebook name -> the newest autograder zip ``make assignment`` wrote in ``folder``."""
    found = {}
    for zipped in sorted(folder.glob("*/dist/autograder/*-autograder_*.zip")):
        found[zipped.parents[2].name] = zipped
    return found


def assignment_of(path: Path) -> str:
    """The notebook a submission answers (Otter's ``assignment_name``); ``ValueError``
    with what is wrong otherwise."""
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as err:  # noqa: BLE001 - any unreadable file is the submission's fault
        raise ValueError(f"not a notebook ({type(err).__name__})") from None
    name = nb.metadata.get("otter", {}).get("assignment_name")
    if not name:
        raise ValueError("a notebook, but not one of the assignment's (no Otter metadata)")
    return name


def scratch_environment(home: Path) -> dict[str, str]:
    """The few variables a graded kernel gets: nothing else of the teacher's."""
    kept = {k: os.environ[k] for k in KEPT_VARIABLES if k in os.environ}
    return {**kept, "HOME": str(home), "TMPDIR": str(home / "tmp"),
            "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "WHALE_CACHE": str(home / "cache"),
            "KERAS_HOME": str(home / "keras"), "MPLCONFIGDIR": str(home / "mpl"),
            "PYTHONDONTWRITEBYTECODE": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}


def limit_resources(processes: int):
    """In the submission's process, before it starts: its own process group, no core
    files, files of at most ``FILE_MB``, and (where the system counts them: not for root)
    at most ``processes`` processes of this user."""
    os.setsid()
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    resource.setrlimit(resource.RLIMIT_FSIZE, (FILE_MB * 2**20, FILE_MB * 2**20))
    resource.setrlimit(resource.RLIMIT_NPROC, (processes, processes))


def processes_of_this_user() -> int:
    import psutil

    me = os.getuid()
    return sum(1 for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == me)


def tree_usage(pid: int) -> tuple[int, int]:
    """Memory (resident bytes) and processes of a process and all its descendants."""
    import psutil

    try:
        root = psutil.Process(pid)
        processes = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0, 0
    memory = 0
    for process in processes:
        try:
            memory += process.memory_info().rss
        except psutil.Error:
            pass
    return memory, len(processes)


def grade_one(submission: Path, autograder: Path, time_limit: float, memory_gb: float,
              prefix: list[str]) -> dict:
    """Grade one submission in its own process tree (see the module doc); its scores by
    question, or ``{"note": why}``."""
    home = Path(tempfile.mkdtemp(prefix="whale-grade-"))
    try:
        for sub in ("tmp", "runtime", "cache", "keras", "mpl"):
            (home / sub).mkdir()
        shutil.copy(submission, home / "submission.ipynb")
        shutil.copy(autograder, home / "autograder.zip")
        hidden = [Path.home(), submission.parent, *[Path(os.environ[v]) for v in
                                                    ("KAGGLE_CONFIG_DIR",) if v in os.environ]]
        command = [*prefix, sys.executable, "-m", "whale_series.grade", "--one", str(home),
                   *[arg for folder in hidden for arg in ("--hide", str(folder.resolve()))]]
        limit = PROCESSES + (0 if os.geteuid() == 0 else processes_of_this_user())
        process = subprocess.Popen(command, env=scratch_environment(home), cwd=home,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                   preexec_fn=lambda: limit_resources(limit))
        why, deadline = None, time.monotonic() + time_limit
        while process.poll() is None:
            if time.monotonic() > deadline:
                why = f"stopped after its time limit ({time_limit:.0f} s)"
            memory, processes = tree_usage(process.pid)
            if memory > memory_gb * 2**30:
                why = f"stopped: it used more than {memory_gb:g} GB of memory"
            elif processes > PROCESSES:
                why = f"stopped: it started more than {PROCESSES} processes"
            if why:
                kill_tree(process.pid)
                break
            time.sleep(0.2)
        log = process.communicate()[0].decode(errors="replace")
        result = home / "result.json"
        if why is None and result.is_file():
            return json.loads(result.read_text())
        return {"note": why or f"grading failed (exit {process.returncode}): "
                + " ".join(log.strip().splitlines()[-1:])[:300]}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def loopback_up() -> None:
    """Bring up the loopback of a new network namespace (the kernel talks to its runner
    there); nothing where it is up already or cannot be changed."""
    import fcntl
    import socket
    import struct

    get_flags, set_flags, up = 0x8913, 0x8914, 0x1     # SIOCGIFFLAGS, SIOCSIFFLAGS, IFF_UP
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
            flags = struct.unpack("16sh", fcntl.ioctl(sock, get_flags,
                                                      struct.pack("16sh", b"lo", 0)))[1]
            if not flags & up:
                fcntl.ioctl(sock, set_flags, struct.pack("16sh", b"lo", flags | up))
    except OSError:
        pass


def kill_tree(pid: int) -> None:
    """SIGKILL a process and every descendant (those that left its process group too)."""
    import psutil

    try:
        root = psutil.Process(pid)
        for process in [*root.children(recursive=True), root]:
            process.kill()
    except psutil.Error:
        pass


def mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True)


def inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def wall_off(scratch: Path, hidden: list[Path]) -> list[str]:
    """In the submission's mount namespace: the ``hidden`` folders (the teacher's home,
    the submissions) become empty, what grading needs from them (Python, the repository)
    mounted back; the repository is read-only and its outputs empty. What could not be
    done, said."""
    needed = {Path(sys.prefix).resolve(), Path(sys.base_prefix).resolve(), registry.ROOT}
    try:
        mount("--make-rprivate", "/")
        kept = []
        for i, path in enumerate(sorted(p for p in needed
                                        if any(inside(p, folder) for folder in hidden))):
            stash = scratch / ".keep" / str(i)
            stash.mkdir(parents=True)
            mount("--bind", str(path), str(stash))
            kept.append((stash, path))
        for folder in hidden:
            if folder.is_dir() and not inside(scratch, folder):
                mount("-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs", str(folder))
        for stash, path in kept:
            path.mkdir(parents=True, exist_ok=True)
            mount("--bind", str(stash), str(path))
        mount("--bind", str(registry.ROOT), str(registry.ROOT))
        mount("-o", "remount,ro,bind", str(registry.ROOT))
        # that bind drops what was mounted inside the repository: hide again what lies there
        # (a submissions folder), and the outputs (other submissions' grades, assignments)
        for folder in [*hidden, registry.ROOT / "outputs"]:
            if folder.is_dir() and inside(folder, registry.ROOT) and not inside(scratch, folder):
                mount("-t", "tmpfs", "-o", "size=1m,mode=755", "tmpfs", str(folder))
    except (OSError, subprocess.CalledProcessError) as err:
        return [f"could not wall off the submission ({err})"]
    return []


def one(home: Path, hidden: list[Path]) -> int:
    """In the submission's own namespaces: no network but its loopback, the teacher's home
    and the other submissions out of reach; then grade with Otter's API and write
    ``result.json`` (scores by question, errors its cells raised)."""
    loopback_up()
    problems = wall_off(home, hidden)
    from otter.api import grade_submission

    results = grade_submission(str(home / "submission.ipynb"), str(home / "autograder.zip"),
                               quiet=True)
    scores = {name: results.get_score(name) for name in sorted(results.test_files)}
    errors = [f"{output.get('ename')}: {output.get('evalue', '')[:120]}"
              for cell in (results.notebook.cells if results.notebook else [])
              for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    note = "; ".join(problems + ([f"cells raised {'; '.join(errors[:3])}"] if errors else []))
    (home / "result.json").write_text(json.dumps({"scores": scores, "note": note}))
    return 0


def write_csv(rows: list[dict], path: Path, exercises: list[str]) -> Path:
    """The grades, one row per submission; an earlier file of that name is kept beside."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.rename(path.with_name(f"{path.stem}.{int(path.stat().st_mtime)}{path.suffix}"))
    with path.open("w", newline="") as out:
        writer = csv.DictWriter(out, ["submission", "notebook", *exercises, "total", "note"])
        writer.writeheader()
        writer.writerows(rows)
    return path


def grade_folder(folder: Path, assignment: Path, jobs: int = 2, time_limit: float = 600,
                 memory_gb: float = 4, out: Path | None = None) -> Path:
    """Grade every file of ``folder``; the CSV's path."""
    zips = autograders(assignment)
    if not zips:
        raise SystemExit(f"error: no autograder in {assignment}: run `make assignment` first")
    prefix = namespaces()
    if not prefix:
        print("note: this system allows no network namespace here: submissions are graded "
              "with the network this machine has", file=sys.stderr)
    from whale_series.grading import GRADING_PROFILE
    from whale_series.series import prepare_data
    from whale_utils.session import profile

    prepare_data(profile.load(GRADING_PROFILE), GRADING_PROFILE)   # before two graders race

    def grade(path: Path) -> dict:
        row = {"submission": path.name}
        try:
            row["notebook"] = assignment_of(path)
            if row["notebook"] not in zips:
                raise ValueError(f"no autograder for {row['notebook']} in {assignment}")
        except ValueError as err:
            return {**row, "total": 0, "note": str(err)}
        start = time.perf_counter()
        graded = grade_one(path, zips[row["notebook"]], time_limit, memory_gb, prefix)
        scores = graded.get("scores", {})
        seconds = time.perf_counter() - start
        print(f"{path.name}: {sum(scores.values()):g} points ({seconds:.0f} s)"
              + (f"; {graded['note']}" if graded.get("note") else ""), flush=True)
        return {**row, **{q: f"{s:g}" for q, s in scores.items()},
                "total": f"{sum(scores.values()):g}", "note": graded.get("note", "")}

    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        rows = list(pool.map(grade, files))
    exercises = sorted({k for row in rows for k in row} - {"submission", "notebook", "total",
                                                              "note"})
    return write_csv(rows, out or registry.ROOT / "outputs" / "grades" / f"{folder.name}.csv",
                     exercises)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_series.grade",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("submissions", nargs="?", help="the folder of submitted notebooks")
    parser.add_argument("--assignment", default=str(registry.ROOT / "outputs" / "assignment"))
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=600, help="seconds per submission")
    parser.add_argument("--memory-gb", type=float, default=4)
    parser.add_argument("--out", help="the CSV (default outputs/grades/<folder>.csv)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--hide", action="append", default=[], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.one:
        return one(Path(args.one), [Path(p) for p in args.hide])
    if not args.submissions or not Path(args.submissions).is_dir():
        parser.error(f"SUBMISSIONS={args.submissions!r}: give a folder of submitted notebooks")
    path = grade_folder(Path(args.submissions), Path(args.assignment), args.jobs,
                        args.time_limit, args.memory_gb, Path(args.out) if args.out else None)
    print(f"grades written to {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
