"""make data-kaggle offline: Kaggle's real `kaggle` package finds the credentials, its two
network calls are faked (a token's check, the download, which serves a tiny zip)."""

import importlib
import json
import zipfile
from pathlib import Path

import pytest

from whale_series import kaggle_data
from whale_utils.data import synthetic

CREDENTIAL_VARIABLES = ("KAGGLE_CONFIG_DIR", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN",
                        "XDG_CONFIG_HOME")


class Refused(Exception):
    """As the client's HTTP errors are: a response with a status code."""

    def __init__(self, status):
        super().__init__(f"{status} Client Error")
        self.response = type("Response", (), {"status_code": status})()


@pytest.fixture
def fake(tmp_path, monkeypatch):
    """A home without credentials, Kaggle's API with its network faked, and a zip in the
    competition's layout (6 photos)."""
    photos = synthetic.generate(tmp_path / "source", images=6, seed=1, size=0.1)
    archive = tmp_path / "competition.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.write(photos / "train.csv", "train.csv")
        zipped.writestr("sample_submission.csv", "Image,Id\n")
        for photo in sorted((photos / "train").iterdir()):
            zipped.write(photo, f"train/{photo.name}")
            zipped.write(photo, f"test/{photo.name}")
    for name in CREDENTIAL_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")    # the package logs in when imported
    monkeypatch.setenv("KAGGLE_KEY", "secret")
    # (the package's `api` is a logged-in client, which hides the module of that name)
    extended = importlib.import_module("kaggle.api.kaggle_api_extended")
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    state = {"zip": archive, "refuse": None, "calls": []}

    def download(api, competition, path, quiet=True):
        state["calls"].append((competition, api.config_values.get("username")))
        if state["refuse"]:
            raise Refused(state["refuse"])
        Path(path, f"{competition}.zip").write_bytes(state["zip"].read_bytes())
    def fresh_api():
        """The API module as a new process imports it: it reads where its config folder
        is when imported, from HOME and the variables the test has just set."""
        api = importlib.reload(extended).KaggleApi
        monkeypatch.setattr(api, "competition_download_files", download)
        monkeypatch.setattr(api, "_introspect_token",      # a token's check asks Kaggle
                            lambda api, token: "someone" if token == "good-token" else None)
    state["home"], state["tmp"], state["fresh_api"] = tmp_path / "home", tmp_path, fresh_api
    return state


def write_json(folder: Path):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kaggle.json").write_text(json.dumps({"username": "someone", "key": "secret"}))
    (folder / "kaggle.json").chmod(0o600)


def data_kaggle(fake, out: Path, capsys) -> tuple[int, str, str]:
    fake["fresh_api"]()
    code = kaggle_data.main(["--out", str(out), "--photos", "6"])
    said = capsys.readouterr()
    return code, said.out, said.err


CREDENTIALS = {
    "kaggle.json in ~/.kaggle": lambda home, env: write_json(home / ".kaggle"),
    "kaggle.json in ~/.config/kaggle": lambda home, env: write_json(home / ".config" / "kaggle"),
    "kaggle.json in $XDG_CONFIG_HOME/kaggle": lambda home, env: (
        env.setenv("XDG_CONFIG_HOME", str(home / "xdg")), write_json(home / "xdg" / "kaggle")),
    "kaggle.json in $KAGGLE_CONFIG_DIR": lambda home, env: (
        env.setenv("KAGGLE_CONFIG_DIR", str(home / "elsewhere")), write_json(home / "elsewhere")),
    "KAGGLE_USERNAME and KAGGLE_KEY": lambda home, env: (
        env.setenv("KAGGLE_USERNAME", "someone"), env.setenv("KAGGLE_KEY", "secret")),
    "KAGGLE_API_TOKEN": lambda home, env: env.setenv("KAGGLE_API_TOKEN", "good-token"),
    "~/.kaggle/access_token": lambda home, env: (
        (home / ".kaggle").mkdir(), (home / ".kaggle" / "access_token").write_text("good-token")),
}


@pytest.mark.parametrize("where", list(CREDENTIALS))
def test_every_credential_the_kaggle_tool_accepts_is_accepted(fake, monkeypatch, capsys, where):
    CREDENTIALS[where](fake["home"], monkeypatch)
    code, _, err = data_kaggle(fake, fake["tmp"] / "kaggle", capsys)
    assert code == 0, err
    assert fake["calls"] == [("humpback-whale-identification", "someone")]
    assert len(list((fake["tmp"] / "kaggle" / "train").iterdir())) == 6


def test_without_a_token_it_says_how_to_get_one(fake, capsys):
    code, out, err = data_kaggle(fake, fake["tmp"] / "kaggle", capsys)
    assert code == 1
    assert "kaggle.com/settings" in err and "KAGGLE_API_TOKEN" in err and "~/.kaggle" in err
    assert "Authentication required" not in out + err     # the package's own help, kept quiet
    assert fake["calls"] == []                            # nothing was asked of Kaggle


def test_a_token_kaggle_rejects_is_no_credential(fake, monkeypatch, capsys):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "expired-token")
    code, _, err = data_kaggle(fake, fake["tmp"] / "kaggle", capsys)
    assert code == 1 and "no working Kaggle API credentials" in err


@pytest.mark.parametrize("status, says", [(403, kaggle_data.RULES), (401, "did not accept")])
def test_a_refused_download_says_what_to_do(fake, monkeypatch, capsys, status, says):
    CREDENTIALS["KAGGLE_USERNAME and KAGGLE_KEY"](fake["home"], monkeypatch)
    fake["refuse"] = status
    code, _, err = data_kaggle(fake, fake["tmp"] / "kaggle", capsys)
    assert code == 1 and says in err


def test_a_good_zip_is_unpacked_verified_and_not_fetched_twice(fake, monkeypatch, capsys):
    CREDENTIALS["kaggle.json in ~/.kaggle"](fake["home"], monkeypatch)
    out = fake["tmp"] / "kaggle"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    code, _, err = data_kaggle(fake, out, capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt", "train", "train.csv"]
    code, said, _ = data_kaggle(fake, out, capsys)
    assert code == 0 and "already complete" in said
    assert len(fake["calls"]) == 1


def test_a_truncated_zip_fails_cleanly_and_keeps_earlier_data(fake, monkeypatch, capsys):
    CREDENTIALS["kaggle.json in ~/.kaggle"](fake["home"], monkeypatch)
    whole = fake["zip"].read_bytes()
    fake["zip"] = fake["tmp"] / "truncated.zip"
    fake["zip"].write_bytes(whole[: len(whole) // 2])
    out = fake["tmp"] / "kaggle"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    code, _, err = data_kaggle(fake, out, capsys)
    assert code == 1 and "damaged or incomplete" in err
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt"]   # no partial files
    assert (out / "my-notes.txt").read_text() == "mine"


def test_an_incomplete_folder_is_reported_and_left_alone(fake, capsys):
    out = fake["tmp"] / "kaggle"
    (out / "train").mkdir(parents=True)
    (out / "train.csv").write_text("Image,Id\na.jpg,new_whale\n")
    code, _, err = data_kaggle(fake, out, capsys)
    assert code == 1 and "missing" in err and "left as it is" in err
    assert (out / "train.csv").read_text() == "Image,Id\na.jpg,new_whale\n"
