"""The notebooks on real photos, as a Kaggle Notebook sees them: ``DATA_DIR = "kaggle"``,
the competition attached read-only under the input folder (the 27 real photos of
``../shared/real-sample`` with their rows of the real ``train.csv``), kagglehub's own code
asking a stand-in of the notebook's data proxy where it is. Each run happens in its own
mount namespace where that folder is a read-only bind mount: root ignores file
permissions, a read-only mount it does not."""

import http.server
import json
import os
import re
import shutil
import subprocess
import sys
import threading

import pandas as pd
import pytest
from conftest import REAL_SAMPLE

from whale_utils.data import competition

pytestmark = pytest.mark.skipif(not (REAL_SAMPLE / "train").is_dir(),
                                reason="no ../shared/real-sample here")
SLUG = f"competitions/{competition.COMPETITION}"


class DataProxy(http.server.BaseHTTPRequestHandler):
    """A Kaggle Notebook's data proxy: attaching the competition answers where it is mounted."""

    def do_POST(self):  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        attached = self.path.endswith("AttachDatasourceUsingJwtRequest")
        body = json.dumps({"wasSuccessful": attached, "result": {"mountSlug": SLUG}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def kaggle(tmp_path_factory):
    """The input folder with the competition attached, the proxy, and the variables a
    Kaggle Notebook's kernel has."""
    root = tmp_path_factory.mktemp("kaggle")
    mounted = root / "input" / SLUG
    shutil.copytree(REAL_SAMPLE / "train", mounted / "train")
    labels = pd.read_csv(REAL_SAMPLE / "train.csv")
    photos = sorted(os.listdir(mounted / "train"))
    labels[labels["Image"].isin(photos)].to_csv(mounted / "train.csv", index=False)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), DataProxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    environ = {**os.environ,
               "KAGGLE_KERNEL_RUN_TYPE": "Batch",
               "KAGGLE_DATA_PROXY_URL": f"http://127.0.0.1:{server.server_port}",
               "KAGGLE_USER_SECRETS_TOKEN": "jwt", "KAGGLE_DATA_PROXY_TOKEN": "proxy",
               "KAGGLE_CACHE_MOUNT_FOLDER": str(root / "input"),
               "WHALE_CACHE": str(root / "cache"), "KAGGLEHUB_CACHE": str(root / "kagglehub")}
    for name in ("KAGGLE_API_TOKEN", "KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_CONFIG_DIR"):
        environ.pop(name, None)
    yield {"root": root, "input": root / "input", "mounted": mounted, "photos": len(photos),
           "env": environ}
    server.shutdown()


def read_only_run(kaggle, code: str) -> subprocess.CompletedProcess:
    """Run ``code`` (Python) where the input folder is a read-only bind mount; first prove
    that it is (a file cannot be created there, even by root)."""
    folder = str(kaggle["input"])
    script = (f"mount --bind {folder} {folder} && mount -o remount,ro,bind {folder} {folder} && "
              f"if touch {folder}/probe 2>/dev/null; then echo WRITABLE; exit 3; fi && "
              f'exec {sys.executable} -c "$0"')
    return subprocess.run(["unshare", "-m", "sh", "-c", script, code], env=kaggle["env"],
                          capture_output=True, text=True, timeout=1200)


def run_notebook(kaggle, notebook: str, **params) -> tuple[dict, str]:
    out = kaggle["root"] / "out"
    params = {"DATA_DIR": "kaggle", "OUTPUT_DIR": str(out), "VERBOSE": 0, **params}
    code = ("import json, pathlib; from whale_series import kernels; "
            f"kernels.execute({notebook!r}, json.loads({json.dumps(params)!r}), "
            f"pathlib.Path({str(out / (notebook + '.ipynb'))!r}))")
    done = read_only_run(kaggle, code)
    assert "WRITABLE" not in done.stdout, "the input folder could be written: no test"
    assert done.returncode == 0, done.stderr[-3000:]
    saved = json.loads((out / "metrics" / f"{notebook}.json").read_text())
    executed = json.loads((out / f"{notebook}.ipynb").read_text())
    text = "\n".join("".join(output.get("text", "")) + "".join(
        output.get("data", {}).get("text/markdown", ""))
        for cell in executed["cells"] for output in cell.get("outputs", []))
    return saved, text


def untouched(kaggle) -> list[str]:
    """Every file under the input folder, as copied there (nothing written beside it)."""
    return sorted(str(p.relative_to(kaggle["input"])) for p in kaggle["input"].rglob("*"))


def test_the_route_finds_the_attached_data_where_nothing_can_be_written(kaggle):
    before = untouched(kaggle)
    done = read_only_run(kaggle, "from whale_utils.data import competition; "
                                 "print(competition.locate())")
    assert "WRITABLE" not in done.stdout
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == str(kaggle["mounted"])
    assert untouched(kaggle) == before
    assert list((kaggle["root"] / "cache" / "verified").glob("*.json"))    # the mark: elsewhere


def test_01_runs_on_real_photos_and_says_nothing_synthetic(kaggle):
    saved, text = run_notebook(kaggle, "01_overfit_baseline", EPOCHS=2, IMG_SIZE=48)
    assert saved["params"]["DATA"] == "photos"
    assert saved["params"]["N_ROWS"] == kaggle["photos"]
    assert saved["params"]["DATA_DIR"] == str(kaggle["mounted"])
    assert "synthetic" not in text.lower()
    assert f"DATA_DIR = {str(kaggle['mounted'])!r}: the competition's photos, verified" in text
    assert f"rows: {kaggle['photos']} (photos)" in text
    # the baseline is the real validation rows' share of new_whale (the last rows, as read)
    validation = int(re.search(r"split 'last-rows': \d+ training rows, (\d+) validation", text)[1])
    labels = pd.read_csv(kaggle["mounted"] / "train.csv").tail(validation)
    share = (labels["Id"] == "new_whale").mean()
    assert re.search(rf"all-new_whale +{share:.3f} ", text)


def test_04_runs_on_real_photos_with_its_imagenet_backbone(kaggle):
    saved, text = run_notebook(kaggle, "04_transfer_learning", EPOCHS=2, IMG_SIZE=48,
                               BACKBONE_SIZE=64)
    assert saved["params"]["DATA"] == "photos"
    assert saved["params"]["BACKBONE_WEIGHTS"] == "imagenet-package"
    assert "synthetic" not in text.lower()


def test_08_runs_on_real_photos(kaggle):
    """27 photos are enough for 08 to run end to end (its retrieval, its threshold)."""
    saved, text = run_notebook(kaggle, "08_metric_learning", EPOCHS=2, IMG_SIZE=48,
                               BATCH_SIZE=8)
    assert saved["params"]["DATA"] == "photos"
    assert 0 <= saved["evaluation"]["model"]["map5"] <= 1
    assert "synthetic" not in text.lower()
