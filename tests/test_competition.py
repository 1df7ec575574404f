"""The real data's one route (``whale_utils.data.competition``: ``DATA_DIR = "kaggle"``
and ``make data-kaggle``) in each place a learner opens the series, with kagglehub's own
code running and only its HTTP layer faked (requests' transport: no network)."""

import base64
import io
import json
import sys
import types
import zipfile

import pytest
import requests
from PIL import Image

from whale_utils.data import competition

ROWS = [("0000e88ab.jpg", "w_f48451c"), ("0001f9222.jpg", "w_c3d896a"),
        ("00029d126.jpg", "new_whale")]


def archive() -> bytes:
    """A competition archive in Kaggle's layout, with three small real JPEGs."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zipped:
        zipped.writestr("train.csv", "Image,Id\n" + "".join(f"{i},{w}\n" for i, w in ROWS))
        for name, _ in ROWS:
            photo = io.BytesIO()
            Image.new("RGB", (40, 20), (30, 60, 90)).save(photo, "JPEG")
            zipped.writestr(f"train/{name}", photo.getvalue())
        zipped.writestr("sample_submission.csv", "Image,Id\n")
    return buffer.getvalue()


class FakeKaggle:
    """Kaggle's API, its storage and a Kaggle Notebook's data proxy, as requests'
    transport sees them."""

    def __init__(self, status=200, offline=False):
        self.status, self.offline, self.calls, self.users = status, offline, [], []
        self.served = 0             # archives whose bytes were read
        self.archive = archive()

    def send(self, adapter, request, **_):
        self.calls.append(request.url)
        if self.offline:
            raise requests.exceptions.ConnectionError("Name or service not known",
                                                      request=request)
        response = requests.Response()
        response.request, response.url = request, request.url
        if "AttachDatasourceUsingJwtRequest" in request.url:    # a Kaggle Notebook's proxy
            response.status_code = 200
            response._content = json.dumps({"wasSuccessful": True, "result": {
                "mountSlug": f"competitions/{competition.COMPETITION}"}}).encode()
            return response
        if "DownloadDataFiles" in request.url:
            self.users.append(user(request.headers.get("Authorization", "")))
        if "DownloadDataFiles" in request.url and self.status != 200:
            response.status_code = self.status
            response.headers["Content-Type"] = "application/json"
            response._content = json.dumps({"code": self.status,
                                             "message": "Forbidden"}).encode()
        elif "DownloadDataFiles" in request.url:
            response.status_code = 302
            response.headers["Location"] = "https://storage.example/whales.zip"
            response._content = b""
        else:
            body = self.archive
            response.status_code = 200
            response.headers.update({"Content-Length": str(len(body)),
                                     "Content-Type": "application/zip",
                                     "Last-Modified": "Tue, 01 Jan 2019 00:00:00 GMT"})
            response.raw = Served(body, self)
        return response


class Served(io.BytesIO):
    """The archive's bytes; counts a download when they are read."""

    def __init__(self, body, fake):
        super().__init__(body)
        self.fake, self.counted = fake, False

    def read(self, *args, **kwargs):
        if not self.counted:
            self.fake.served, self.counted = self.fake.served + 1, True
        return super().read(*args, **kwargs)


def user(authorization: str) -> str:
    """Whom a request speaks for: the token itself, or the username of a legacy pair."""
    kind, _, value = authorization.partition(" ")
    return base64.b64decode(value).decode().split(":")[0] if kind == "Basic" else value


@pytest.fixture
def home(tmp_path, monkeypatch):
    """A learner's machine with no credential, its own cache, and no real network."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(tmp_path / "kagglehub"))
    from whale_utils import data
    monkeypatch.setattr(data, "DEFAULT_CACHE", tmp_path / "whale-cache")
    for name in (*competition.CREDENTIALS, "KAGGLE_CONFIG_DIR", "XDG_CONFIG_HOME",
                 "KAGGLE_KERNEL_RUN_TYPE", "COLAB_RELEASE_TAG", "COLAB_GPU"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "home").mkdir()
    monkeypatch.setattr(competition, "NEEDED_GB", 0)
    fake = FakeKaggle()
    monkeypatch.setattr(requests.adapters.HTTPAdapter, "send",
                        lambda adapter, request, **kw: fake.send(adapter, request, **kw))
    from kagglehub import config
    monkeypatch.setattr(config, "_kaggle_credentials", None, raising=False)
    # (read from HOME when kagglehub is imported: as a new process would find it)
    monkeypatch.setattr(config, "DEFAULT_KAGGLE_CREDENTIALS_FOLDER", str(tmp_path / "home" / ".kaggle"))
    competition.located.cache_clear()
    fake.home = tmp_path / "home"
    return fake


def write_json(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kaggle.json").write_text(json.dumps({"username": "someone", "key": "secret"}))
    (folder / "kaggle.json").chmod(0o600)


CREDENTIALS = {   # every credential `make data-kaggle` accepted through the `kaggle` tool
    "kaggle.json in ~/.kaggle": lambda home, env: write_json(home / ".kaggle"),
    "kaggle.json in ~/.config/kaggle": lambda home, env: write_json(home / ".config" / "kaggle"),
    "kaggle.json in $XDG_CONFIG_HOME/kaggle": lambda home, env: (
        env.setenv("XDG_CONFIG_HOME", str(home / "xdg")), write_json(home / "xdg" / "kaggle")),
    "kaggle.json in $KAGGLE_CONFIG_DIR": lambda home, env: (
        env.setenv("KAGGLE_CONFIG_DIR", str(home / "elsewhere")), write_json(home / "elsewhere")),
    "KAGGLE_USERNAME and KAGGLE_KEY": lambda home, env: (
        env.setenv("KAGGLE_USERNAME", "someone"), env.setenv("KAGGLE_KEY", "secret")),
    "KAGGLE_API_TOKEN": lambda home, env: env.setenv("KAGGLE_API_TOKEN", "someone"),
    "~/.kaggle/access_token": lambda home, env: (
        (home / ".kaggle").mkdir(), (home / ".kaggle" / "access_token").write_text("someone")),
}


@pytest.mark.parametrize("where", list(CREDENTIALS))
def test_at_home_every_credential_the_kaggle_tool_accepts_downloads(home, monkeypatch, where):
    CREDENTIALS[where](home.home, monkeypatch)
    assert competition.place() == "home"
    folder = competition.locate()
    assert home.users == ["someone"]
    assert (folder / "train.csv").is_file() and len(list((folder / "train").iterdir())) == 3


def test_a_second_run_reads_no_photo_and_needs_no_network(home, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    folder = competition.locate()
    assert str(folder).startswith(str(tmp_path / "kagglehub"))
    assert list((tmp_path / "whale-cache" / "verified").glob("*.json"))
    calls = len(home.calls)
    home.offline = True                                # the second run needs no network...
    monkeypatch.setattr(competition, "verify", lambda *a: pytest.fail("verified twice"))
    monkeypatch.setattr(competition, "NEEDED_GB", 10**9)   # ...nor free disk...
    monkeypatch.delenv("KAGGLE_API_TOKEN")                 # ...nor the token...
    assert competition.locate() == folder                  # ...and reads no photo again
    assert len(home.calls) <= calls + 1


def test_a_changed_train_csv_is_verified_again(home, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    folder = competition.locate()
    (folder / "train" / ROWS[0][0]).unlink()
    with (folder / "train.csv").open("a") as labels:
        labels.write("")
    import os
    os.utime(folder / "train.csv", ns=(1, 1))
    with pytest.raises(competition.KaggleDataError, match=f"missing, e.g. .*{ROWS[0][0]}"):
        competition.locate()


def colab(monkeypatch, secrets):
    """Colab's ``google.colab.userdata``, as it answers for secrets missing or not shared."""
    class SecretNotFoundError(Exception):
        pass

    def get(name):
        if name not in secrets:
            raise SecretNotFoundError(name)
        return secrets[name]
    module = types.ModuleType("google.colab")
    module.userdata = types.SimpleNamespace(get=get)
    monkeypatch.setitem(sys.modules, "google.colab", module)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "release-colab")


@pytest.mark.parametrize("secrets", [{"KAGGLE_API_TOKEN": "someone"},
                                     {"KAGGLE_USERNAME": "someone", "KAGGLE_KEY": "k3y"}])
def test_in_colab_the_secrets_are_used_the_older_pair_too(home, monkeypatch, secrets):
    colab(monkeypatch, secrets)
    assert competition.place() == "colab"
    folder = competition.locate()
    assert (folder / "train.csv").is_file()
    assert home.users == ["someone"]


@pytest.mark.parametrize("mount", ["competitions", "."])
def test_in_a_kaggle_notebook_the_attached_data_is_found_without_a_token(home, monkeypatch,
                                                                         tmp_path, mount):
    """kagglehub asks the notebook's data proxy to attach the competition, then finds it
    mounted: at /kaggle/input/competitions/<slug>/ today, /kaggle/input/<slug>/ before."""
    mounted = (tmp_path / "input" / mount / competition.COMPETITION).resolve()
    with zipfile.ZipFile(io.BytesIO(archive())) as zipped:
        zipped.extractall(mounted)
    if mount == ".":     # an older mount: the data one level up from where kagglehub says
        (tmp_path / "input" / "competitions").mkdir()
        (tmp_path / "input" / "competitions" / competition.COMPETITION).symlink_to(mounted.parent)
    for name, value in {"KAGGLE_KERNEL_RUN_TYPE": "Interactive",
                        "KAGGLE_DATA_PROXY_URL": "http://proxy.kaggle.example",
                        "KAGGLE_USER_SECRETS_TOKEN": "jwt", "KAGGLE_DATA_PROXY_TOKEN": "proxy",
                        "KAGGLE_CACHE_MOUNT_FOLDER": str(tmp_path / "input")}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setattr(competition, "NEEDED_GB", 10**9)     # nothing is downloaded there
    assert competition.place() == "kaggle"
    assert competition.locate().resolve() == mounted
    assert [url.split("/")[-1] for url in home.calls] == ["AttachDatasourceUsingJwtRequest"]
    assert home.users == []


@pytest.mark.parametrize("empty", [{"KAGGLE_USERNAME": "", "KAGGLE_KEY": ""},
                                   {"KAGGLE_API_TOKEN": "  "}, {}])
def test_no_credential_says_what_to_do_in_each_place_and_calls_nobody(home, monkeypatch, empty):
    for name, value in empty.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(competition.KaggleDataError) as refused:
        competition.locate()
    lines = str(refused.value).splitlines()
    assert [line.split(":")[0] for line in lines[1:]] == [
        "- in a Kaggle Notebook", "- in Colab", "- at home"]
    assert home.calls == []


@pytest.mark.parametrize("status, says", [
    (403, r"403.*rules at https://www\.kaggle\.com/competitions/humpback-whale-identification/rules"),
    (401, r"(?s)did not accept the credential \(401\).*\n- in Colab: .*KAGGLE_API_TOKEN")])
def test_a_refused_download_says_what_to_do(home, monkeypatch, tmp_path, status, says):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    home.status = status
    with pytest.raises(competition.KaggleDataError, match=says):
        competition.locate()
    assert not list(tmp_path.rglob("train.csv"))


def test_no_connection_and_nothing_cached(home, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    home.offline = True
    with pytest.raises(competition.KaggleDataError, match="no connection to Kaggle"):
        competition.locate()
    assert not list(tmp_path.rglob("train.csv"))


def test_not_enough_disk_is_refused_before_any_download(home, monkeypatch):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    monkeypatch.setattr(competition, "NEEDED_GB", 10**9)
    with pytest.raises(competition.KaggleDataError, match="not enough free disk.*KAGGLEHUB_CACHE"):
        competition.locate()
    assert home.calls == []


def test_a_truncated_archive_is_not_taken_for_data(home, monkeypatch, tmp_path):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    home.archive = home.archive[: len(home.archive) // 2]
    with pytest.raises(competition.KaggleDataError, match="damaged or incomplete"):
        competition.locate()
    assert not list(tmp_path.rglob("train.csv"))
    home.archive = archive()                       # the next run downloads it whole
    assert (competition.locate() / "train.csv").is_file()


# -- make data-kaggle: the same route, into kagglehub's cache or a folder of one's own

def data_kaggle(argv, capsys):
    code = competition.main(argv)
    said = capsys.readouterr()
    return code, said.out, said.err


def test_make_data_kaggle_fills_the_cache_data_dir_kaggle_then_reads(home, monkeypatch, capsys):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "a-token")
    code, out, err = data_kaggle([], capsys)
    assert code == 0, err
    assert 'DATA_DIR = "kaggle" reads them' in out
    assert (competition.data_folder("kaggle") / "train.csv").is_file() and home.served == 1


def test_into_a_folder_beside_the_learners_files_and_not_fetched_twice(home, monkeypatch,
                                                                       capsys, tmp_path):
    CREDENTIALS["kaggle.json in ~/.kaggle"](home.home, monkeypatch)
    out = tmp_path / "kaggle"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    code, said, err = data_kaggle(["--out", str(out)], capsys)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt", "train", "train.csv"]
    assert f"DATA_DIR = {str(out)!r}" in said
    monkeypatch.setattr(competition, "verify", lambda *a: pytest.fail("verified twice"))
    code, said, _ = data_kaggle(["--out", str(out)], capsys)
    assert code == 0 and "already complete" in said
    assert len(home.users) == 1 and home.served == 1


def test_into_a_folder_a_truncated_archive_leaves_nothing_and_keeps_the_learners_files(
        home, monkeypatch, capsys, tmp_path):
    CREDENTIALS["KAGGLE_API_TOKEN"](home.home, monkeypatch)
    home.archive = home.archive[: len(home.archive) // 2]
    out = tmp_path / "kaggle"
    out.mkdir()
    (out / "my-notes.txt").write_text("mine")
    code, _, err = data_kaggle(["--out", str(out)], capsys)
    assert code == 1 and "damaged or incomplete" in err
    assert sorted(p.name for p in out.iterdir()) == ["my-notes.txt"]   # no partial files
    assert (out / "my-notes.txt").read_text() == "mine"


def test_an_incomplete_folder_is_reported_and_left_alone(home, capsys, tmp_path):
    out = tmp_path / "kaggle"
    (out / "train").mkdir(parents=True)
    (out / "train.csv").write_text("Image,Id\na.jpg,new_whale\n")
    code, _, err = data_kaggle(["--out", str(out)], capsys)
    assert code == 1 and "missing" in err and "left as it is" in err
    assert (out / "train.csv").read_text() == "Image,Id\na.jpg,new_whale\n"
    assert home.calls == []
