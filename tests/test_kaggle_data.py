"""make data-kaggle offline: a stand-in `kaggle` command on PATH serves a tiny zip."""

import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from whale_series import kaggle_data, synthetic

FAKE_KAGGLE = """#!/bin/sh
# stand-in for `kaggle competitions download -c NAME -p FOLDER`: copies $FAKE_ZIP
echo "$@" >> "$FAKE_LOG"
[ -n "$FAKE_REFUSE" ] && { echo "403 - Forbidden"; exit 1; }
cp "$FAKE_ZIP" "$6/humpback-whale-identification.zip"
"""


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A `kaggle` on PATH, a token, and a zip in the competition's layout (6 photos)."""
    photos = synthetic.generate(tmp_path / "source", images=6, seed=1, size=0.1)
    archive = tmp_path / "competition.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(photos / "train.csv", "train.csv")
        zipped.writestr("sample_submission.csv", "Image,Id\n")
        for photo in sorted((photos / "train").iterdir()):
            zipped.write(photo, f"train/{photo.name}")
            zipped.write(photo, f"test/{photo.name}")
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "kaggle").write_text(FAKE_KAGGLE)
    (bin_dir / "kaggle").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("FAKE_ZIP", str(archive))
    monkeypatch.setenv("FAKE_LOG", str(tmp_path / "calls.log"))
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no-config"))
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    return tmp_path


def data_kaggle(out: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "whale_series.kaggle_data", "--out", str(out),
                           "--photos", "6"], capture_output=True, text=True, env=os.environ)


def test_without_a_token_it_says_how_to_get_one(fake, monkeypatch):
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    done = data_kaggle(fake / "kaggle")
    assert done.returncode == 1
    assert "kaggle.com/settings" in done.stderr and "~/.kaggle/kaggle.json" in done.stderr
    assert not (fake / "calls.log").exists()       # the CLI was not even called


def test_rules_not_accepted_says_where_to_accept_them(fake, monkeypatch):
    monkeypatch.setenv("FAKE_REFUSE", "1")
    done = data_kaggle(fake / "kaggle")
    assert done.returncode == 1 and kaggle_data.RULES in done.stderr


def test_a_good_zip_is_unpacked_verified_and_not_fetched_twice(fake):
    out = fake / "kaggle"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    done = data_kaggle(out)
    assert done.returncode == 0, done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt", "train", "train.csv"]
    assert len(list((out / "train").iterdir())) == 6
    again = data_kaggle(out)
    assert again.returncode == 0 and "already complete" in again.stdout
    assert len((fake / "calls.log").read_text().splitlines()) == 1


def test_a_truncated_zip_fails_cleanly_and_keeps_earlier_data(fake, monkeypatch):
    whole = Path(os.environ["FAKE_ZIP"]).read_bytes()
    cut = fake / "truncated.zip"
    cut.write_bytes(whole[: len(whole) // 2])
    monkeypatch.setenv("FAKE_ZIP", str(cut))
    out = fake / "kaggle"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    done = data_kaggle(out)
    assert done.returncode == 1 and "damaged or incomplete" in done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt"]   # no partial files
    assert (out / "my-notes.txt").read_text() == "mine"


def test_an_incomplete_folder_is_reported_and_left_alone(fake):
    out = fake / "kaggle"
    (out / "train").mkdir(parents=True)
    (out / "train.csv").write_text("Image,Id\na.jpg,new_whale\n")
    done = data_kaggle(out)
    assert done.returncode == 1 and "missing" in done.stderr and "left as it is" in done.stderr
    assert (out / "train.csv").read_text() == "Image,Id\na.jpg,new_whale\n"
