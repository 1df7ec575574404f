"""The competition's real photos (``DATA_DIR = "kaggle"``) through kagglehub, wherever the
learner is:

- in a Kaggle Notebook, the data attached to it (no token; the notebook's internet may
  be off);
- in Colab, with the token in Colab's secrets (``KAGGLE_API_TOKEN``, or the older
  ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``);
- at home, with any credential the ``kaggle`` tool accepts.

    folder = competition.locate()          # the folder of train.csv and train/, verified

Nothing is ever written under the data: kagglehub's cache (or ``out``) receives the
download, and the mark that a folder was verified goes to the series' cache, so that a
second run does not read 25,361 photos again.
"""

from __future__ import annotations

import errno
import functools
import hashlib
import json
import os
import shutil
import sys
import warnings
import zipfile
from pathlib import Path

KAGGLE = "kaggle"          # DATA_DIR's value for the competition's data, wherever this runs
COMPETITION = "humpback-whale-identification"
RULES = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
NEEDED_GB = 12             # the archive (about 5.9 GB) and its contents, side by side
CREDENTIALS = ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY")
WHERE_CREDENTIALS = (
    "- in a Kaggle Notebook: add the competition's data (Add Input, humpback-whale-"
    "identification); no token is needed;\n"
    "- in Colab: create a token at https://www.kaggle.com/settings (API) and store it in "
    "Colab's secrets (the key icon) as KAGGLE_API_TOKEN, with notebook access on;\n"
    "- at home: put the token in KAGGLE_API_TOKEN or ~/.kaggle/access_token (or a "
    "kaggle.json in ~/.kaggle), then run again.")
NO_CREDENTIAL = ("no Kaggle credential found, and the competition's photos need one outside "
                 "Kaggle:\n" + WHERE_CREDENTIALS)
REJECTED = ("Kaggle did not accept the credential (401): it is expired, revoked or mistyped. "
            "Create a new token at https://www.kaggle.com/settings, then:\n" + WHERE_CREDENTIALS)


class KaggleDataError(RuntimeError):
    """The real data could not be had or verified; the message says what to do."""


def import_kagglehub():
    """kagglehub, its progress bars as text where Jupyter has no widgets (without tqdm's
    warning about it)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import kagglehub
    return kagglehub


def place(environ=os.environ) -> str:
    """Where this runs: ``"kaggle"`` (a Kaggle Notebook), ``"colab"`` or ``"home"``."""
    if environ.get("KAGGLE_KERNEL_RUN_TYPE"):
        return "kaggle"
    if environ.get("COLAB_RELEASE_TAG") or environ.get("COLAB_GPU") is not None:
        return "colab"
    return "home"


def colab_secrets() -> dict[str, str]:
    """The Kaggle credentials stored in Colab's secrets (empty outside Colab, or when the
    notebook has no access to them)."""
    try:
        from google.colab import userdata  # only in Colab
    except ImportError:
        return {}
    found = {}
    for name in CREDENTIALS:
        try:
            value = (userdata.get(name) or "").strip()
        except Exception:  # noqa: BLE001 - a secret missing or not shared with the notebook
            continue
        if value:
            found[name] = value
    return found


def prepare_credentials(environ=os.environ) -> bool:
    """Make every credential the learner gave visible to kagglehub; ``True`` if there is
    one. An empty variable is no credential (it is dropped, so that kagglehub does not try
    the network with it); Colab's secrets are passed on as variables, since kagglehub
    skips the ``KAGGLE_USERNAME`` + ``KAGGLE_KEY`` pair when ``KAGGLE_API_TOKEN`` is not
    a secret; a ``kaggle.json`` where only the ``kaggle`` tool looks
    (``$XDG_CONFIG_HOME/kaggle``) is passed on too."""
    for name in CREDENTIALS:
        if name in environ and not environ[name].strip():
            del environ[name]
    for name, value in colab_secrets().items():
        environ.setdefault(name, value)
    if not environ.get("KAGGLE_API_TOKEN") and not environ.get("KAGGLE_CONFIG_DIR"):
        xdg = Path(environ.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "kaggle"
        if (xdg / "kaggle.json").is_file() and not (Path.home() / ".kaggle" / "kaggle.json").is_file():
            environ["KAGGLE_CONFIG_DIR"] = str(xdg)
    import_kagglehub()
    from kagglehub.config import get_kaggle_credentials

    try:
        return get_kaggle_credentials() is not None
    except ValueError as err:       # a kaggle.json it cannot read
        raise KaggleDataError(f"{err}: write it again from https://www.kaggle.com/settings "
                              "(API, Create New Token)") from None


def locate(out: str | Path | None = None) -> Path:
    """The folder of the competition's ``train.csv`` and ``train/``, verified: attached in a
    Kaggle Notebook, else downloaded once into kagglehub's cache (or into ``out``)."""
    if out is not None:
        return into_folder(Path(out))
    if place() != "kaggle":
        has_credential = prepare_credentials()
        if cached() is None:            # a first download: refused early when it cannot work
            from kagglehub.config import get_cache_folder

            if not has_credential:
                raise KaggleDataError(NO_CREDENTIAL)
            check_disk(Path(get_cache_folder()))
    folder = find_train_csv(Path(download()))
    verify_once(folder)
    return folder


@functools.cache
def located() -> Path:
    """``locate()`` once per process: every later ``DATA_DIR = "kaggle"`` is this folder."""
    return locate()


def data_folder(data_dir: str | Path, base: str | Path = ".") -> Path:
    """``DATA_DIR`` as a folder: ``"kaggle"`` is the competition's data, attached or
    downloaded once and verified (``located``); any other value a folder, relative to
    ``base``."""
    if str(data_dir) == KAGGLE:
        return located()
    return Path(base) / data_dir


def into_folder(out: Path) -> Path:
    """``make data-kaggle OUT=...``: the competition in ``out``, beside whatever else is
    there. ``train/`` and ``train.csv`` appear only once the unpacked copy is verified; a
    failed download leaves nothing behind."""
    if (out / "train.csv").exists() or (out / "train").exists():
        try:
            count = verify_once(out)
        except KaggleDataError as err:
            raise KaggleDataError(f"{err}. This folder is left as it is: move train/ and "
                                  "train.csv away to download afresh") from None
        print(f"{out}: already complete ({count} photos, verified); nothing downloaded")
        return out
    if place() == "kaggle":
        raise KaggleDataError("in a Kaggle Notebook the competition's data is attached, not "
                              "downloaded: set DATA_DIR = \"kaggle\" instead of a folder")
    require_credentials()
    check_disk(out)
    staging = out / ".download"     # ours alone: an interrupted attempt is started again
    shutil.rmtree(staging, ignore_errors=True)
    try:
        unpacked = find_train_csv(Path(download(output_dir=staging)))
        count = verify(unpacked)
        (unpacked / "train").rename(out / "train")
        (unpacked / "train.csv").rename(out / "train.csv")
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    remember_verified(out, count)
    print(f"{out}: {count} photos and train.csv, verified")
    return out


def cached() -> str | None:
    """The finished download in kagglehub's cache, if any (a half-written one is not)."""
    from kagglehub.cache import Cache
    from kagglehub.handle import parse_competition_handle

    return Cache().load_from_cache(parse_competition_handle(COMPETITION))


def require_credentials() -> None:
    if not prepare_credentials():
        raise KaggleDataError(NO_CREDENTIAL)


def download(output_dir: Path | None = None) -> str:
    """``kagglehub.competition_download``, its failures told as what to do."""
    import requests

    kagglehub = import_kagglehub()
    from kagglehub.exceptions import KaggleApiHTTPError, UnauthenticatedError

    try:
        return kagglehub.competition_download(
            COMPETITION, output_dir=str(output_dir) if output_dir else None)
    except UnauthenticatedError:
        raise KaggleDataError(NO_CREDENTIAL) from None
    except KaggleApiHTTPError as err:
        status = getattr(err.response, "status_code", None)
        if status == 403:
            raise KaggleDataError(f"Kaggle refused the download (403): accept the competition's "
                                  f"rules at {RULES} with the account of your token, then run "
                                  "again") from None
        if status == 401:
            raise KaggleDataError(REJECTED) from None
        raise KaggleDataError(f"Kaggle answered {status} ({err}); try again later") from None
    except requests.exceptions.ConnectionError:
        raise KaggleDataError("no connection to Kaggle, and no copy of the competition's data "
                              "is here yet: connect to the internet (in a Kaggle Notebook, "
                              "add the competition's data instead), then run again") from None
    except (zipfile.BadZipFile, EOFError, ValueError) as err:   # ValueError: "Unsupported archive type."
        raise KaggleDataError(f"the download is damaged or incomplete ({err}); nothing of it "
                              "is taken as data: run again") from None
    except OSError as err:
        if err.errno == errno.ENOSPC:
            raise KaggleDataError(disk_message(Path(err.filename or output_dir or "."))) from None
        raise


def check_disk(folder: Path) -> None:
    """Refuse before downloading when the archive and its contents cannot fit."""
    probe = folder
    while not probe.exists():
        probe = probe.parent
    if shutil.disk_usage(probe).free < NEEDED_GB * 2**30:
        raise KaggleDataError(disk_message(folder))


def disk_message(folder: Path) -> str:
    return (f"not enough free disk for the competition's data under {folder}: it needs about "
            f"{NEEDED_GB} GB (the archive and its contents together). Free some space, or set "
            "KAGGLEHUB_CACHE (or `make data-kaggle OUT=...`) to a disk that has it")


def find_train_csv(path: Path) -> Path:
    """The folder holding ``train.csv`` at or below ``path`` (Kaggle mounts competitions
    at more than one depth)."""
    for depth in range(3):
        found = sorted(path.glob("/".join(["*"] * depth + ["train.csv"])))
        if found:
            return found[0].parent
    raise KaggleDataError(f"{path}: the competition's data holds no train.csv")


def verify_once(folder: Path) -> int:
    """``verify`` the first time a folder is seen; later, only that its ``train.csv`` has
    not changed (the mark lives in the series' cache, never beside the data)."""
    mark, seen = verified_mark(folder)
    try:
        recorded = json.loads(mark.read_text())
        if {k: recorded.get(k) for k in seen} == seen:
            return recorded["photos"]
    except (OSError, ValueError, KeyError):
        pass
    print(f"{folder}: checking that every photo listed in train.csv is there and readable "
          "(once: a later run on the same data skips this)", flush=True)
    return remember_verified(folder, verify(folder))


def verified_mark(folder: Path) -> tuple[Path, dict]:
    """Where the mark of ``folder`` lives, and what it must record of its ``train.csv``."""
    from whale_utils.data import DEFAULT_CACHE

    stat = (folder / "train.csv").stat()
    seen = {"folder": str(folder.resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    key = hashlib.sha256(seen["folder"].encode()).hexdigest()[:16]
    return Path(DEFAULT_CACHE) / "verified" / f"{key}.json", seen


def remember_verified(folder: Path, count: int) -> int:
    """Keep the mark that ``folder`` holds ``count`` verified photos."""
    mark, seen = verified_mark(folder)
    try:
        mark.parent.mkdir(parents=True, exist_ok=True)
        mark.write_text(json.dumps({**seen, "photos": count}))
    except OSError:
        pass    # verified all the same; the next run verifies again
    return count


def verify(folder: Path) -> int:
    """Check ``folder`` holds the competition's ``train.csv`` and every photo it lists,
    each a readable JPEG; returns the number of photos. Raises ``KaggleDataError``."""
    import pandas as pd
    from PIL import Image

    labels_path, train = folder / "train.csv", folder / "train"
    if not labels_path.is_file() or not train.is_dir():
        raise KaggleDataError(f"{folder}: no train.csv and train/ folder")
    labels = pd.read_csv(labels_path)
    if list(labels.columns[:2]) != ["Image", "Id"]:
        raise KaggleDataError(f"{labels_path}: columns {list(labels.columns)}, expected Image,Id")
    missing = [name for name in labels["Image"] if not (train / name).is_file()]
    if missing:
        raise KaggleDataError(f"{train}: {len(missing)} photo(s) listed in train.csv are "
                              f"missing, e.g. {missing[:3]}")
    for name in labels["Image"]:
        try:
            with Image.open(train / name) as image:
                image.verify()
        except Exception as err:  # noqa: BLE001 - any decoding failure means a bad photo
            raise KaggleDataError(f"{train / name}: not a readable JPEG ({err})") from None
    return len(labels)


def main(argv: list[str] | None = None) -> int:
    """``make data-kaggle``: the route ``DATA_DIR = "kaggle"`` takes, ahead of time."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m whale_utils.data.competition",
        description="Download (once) and verify the competition's photos: into kagglehub's "
                    "cache, where DATA_DIR = \"kaggle\" finds them, or into --out FOLDER.")
    parser.add_argument("--out", help="a folder of your own (DATA_DIR = that folder then)")
    args = parser.parse_args(argv)
    try:
        folder = locate(args.out)
    except KaggleDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    use = f"DATA_DIR = {str(folder)!r}" if args.out else 'DATA_DIR = "kaggle"'
    print(f"the competition's photos are in {folder}: {use} reads them")
    return 0


if __name__ == "__main__":
    sys.exit(main())
