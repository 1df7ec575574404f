"""``make data-kaggle``: the competition's photos, downloaded, unpacked and verified.

    python -m whale_series.kaggle_data [--out data/kaggle]

Uses Kaggle's own Python API (the ``kaggle`` package), which finds your credentials
wherever the ``kaggle`` tool does. Safe to run again: complete data is verified
and left alone, a finished download is not fetched twice, and nothing is written outside
the output folder; ``train/`` and ``train.csv`` appear only once the unpacked copy is
verified.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import shutil
import sys
import zipfile
from pathlib import Path

from whale_utils.session import registry

COMPETITION = "humpback-whale-identification"
PHOTOS = 25361             # photos in the competition's train/ (and rows in train.csv)
RULES = f"https://www.kaggle.com/competitions/{COMPETITION}/rules"
TOKEN_HELP = (
    "no working Kaggle API credentials found. Create a token on https://www.kaggle.com/settings "
    "(section API) and give it as the `kaggle` tool takes it: the token in KAGGLE_API_TOKEN "
    "or in ~/.kaggle/access_token; or a kaggle.json in ~/.kaggle, ~/.config/kaggle "
    "($XDG_CONFIG_HOME/kaggle) or $KAGGLE_CONFIG_DIR (chmod 600); or KAGGLE_USERNAME and "
    "KAGGLE_KEY; or `kaggle auth login`. Then run `make data-kaggle` again")


class KaggleDataError(RuntimeError):
    """The download could not be made or verified; the message says what to do."""


def kaggle_api():
    """Kaggle's API, authenticated as the ``kaggle`` tool authenticates: every credential
    it accepts works here. Raises ``KaggleDataError`` when it finds none that works."""
    quiet = io.StringIO()       # its own help text: ours below says what to do
    try:
        with contextlib.redirect_stdout(quiet), contextlib.redirect_stderr(quiet):
            from kaggle.api.kaggle_api_extended import KaggleApi  # the package logs in on import

            api = KaggleApi()
            api.authenticate()
    except ImportError:
        raise KaggleDataError("the `kaggle` package is not installed: run `make env` (or "
                              f"`{sys.executable} -m pip install kaggle`), then try again") from None
    except SystemExit:          # how it says that no credential works
        raise KaggleDataError(TOKEN_HELP) from None
    return api


def http_status(err: Exception) -> int | None:
    """The HTTP status of a failed request, however the client wraps it."""
    return getattr(getattr(err, "response", None), "status_code", None)


def verify(folder: Path, photos: int = PHOTOS) -> int:
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
    if len(labels) != photos:
        raise KaggleDataError(f"{labels_path}: {len(labels)} rows, the competition has "
                              f"{photos}: the download is not the competition's")
    for name in labels["Image"]:
        try:
            with Image.open(train / name) as image:
                image.verify()
        except Exception as err:  # noqa: BLE001 - any decoding failure means a bad photo
            raise KaggleDataError(f"{train / name}: not a readable JPEG ({err})") from None
    return len(labels)


def download(out: Path, photos: int = PHOTOS) -> Path:
    """Download, unpack and verify the competition into ``out`` (see the module doc)."""
    out = Path(out)
    if (out / "train.csv").exists() or (out / "train").exists():
        try:
            verify(out, photos)                   # complete data: nothing to do
        except KaggleDataError as err:
            raise KaggleDataError(f"{err}. This folder is left as it is: move train/ and "
                                  "train.csv away to download afresh") from None
        print(f"{out}: already complete ({photos} photos, verified); nothing downloaded")
        return out
    api = kaggle_api()
    staging = out / ".download"
    staging.mkdir(parents=True, exist_ok=True)
    archive = staging / f"{COMPETITION}.zip"
    try:
        api.competition_download_files(COMPETITION, path=str(staging), quiet=False)
    except Exception as err:  # noqa: BLE001 - the client raises its HTTP library's errors
        if http_status(err) == 403:
            raise KaggleDataError(f"Kaggle refused the download (403): accept the competition's "
                                  f"rules at {RULES} with the account of your token, then run "
                                  "`make data-kaggle` again") from None
        if http_status(err) == 401:
            raise KaggleDataError(f"Kaggle did not accept your API token (401): {TOKEN_HELP}"
                                  ) from None
        raise KaggleDataError(f"the download failed ({type(err).__name__}: {err}); run "
                              "`make data-kaggle` again") from None
    unpacked = staging / "unpacked"
    shutil.rmtree(unpacked, ignore_errors=True)
    try:
        with zipfile.ZipFile(archive) as zipped:
            members = [m for m in zipped.namelist() if m == "train.csv" or m.startswith("train/")]
            zipped.extractall(unpacked, members)
        verify(unpacked, photos)
    except (zipfile.BadZipFile, EOFError, OSError, KaggleDataError) as err:
        shutil.rmtree(staging, ignore_errors=True)    # the damaged download and its pieces
        raise KaggleDataError(f"the download is damaged or incomplete ({err}); it was removed: "
                              "run `make data-kaggle` again") from None
    (unpacked / "train").rename(out / "train")
    (unpacked / "train.csv").rename(out / "train.csv")
    shutil.rmtree(staging)
    print(f"{out}: {photos} photos and train.csv, verified")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_series.kaggle_data",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(registry.ROOT / "data" / "kaggle"))
    parser.add_argument("--photos", type=int, default=PHOTOS, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    try:
        download(Path(args.out), args.photos)
    except KaggleDataError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
