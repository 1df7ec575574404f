import hashlib
import json
import re

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from whale_utils.data import synthetic


def digest(folder):
    files = sorted(folder.rglob("*"))
    return {f.relative_to(folder).as_posix(): hashlib.sha1(f.read_bytes()).hexdigest()
            for f in files if f.is_file()}


def test_same_seed_same_bytes(tmp_path, tiny_set):
    again = synthetic.generate(tmp_path / "again", images=60, seed=3, size=0.1)
    assert digest(again) == digest(tiny_set)
    other = synthetic.generate(tmp_path / "other", images=60, seed=4, size=0.1)
    assert digest(other)["train.csv"] != digest(tiny_set)["train.csv"]


def test_kaggle_layout(tiny_set):
    frame = pd.read_csv(tiny_set / "train.csv")
    assert list(frame.columns) == ["Image", "Id"]
    assert frame["Image"].is_monotonic_increasing and frame["Image"].is_unique
    assert all(re.fullmatch(r"[0-9a-f]{9}\.jpg", name) for name in frame["Image"])
    assert all(re.fullmatch(r"w_[0-9a-f]{7}|new_whale", i) for i in frame["Id"])
    assert sorted(p.name for p in (tiny_set / "train").iterdir()) == list(frame["Image"])


def test_label_statistics_follow_the_real_data():
    labels = np.array(synthetic.plan_labels(5000, np.random.default_rng(0)))
    assert np.mean(labels == "new_whale") == pytest.approx(9664 / 25361, abs=0.005)
    _, per_whale = np.unique(labels[labels != "new_whale"], return_counts=True)
    real = np.repeat(list(synthetic.REAL_IMAGES_PER_WHALE),
                     list(synthetic.REAL_IMAGES_PER_WHALE.values()))
    assert np.mean(per_whale == 1) == pytest.approx(np.mean(real == 1), abs=0.05)
    for count in (2, 3, 4, 5):
        assert np.mean(per_whale == count) == pytest.approx(np.mean(real == count), abs=0.04)
    assert np.mean(per_whale > 10) == pytest.approx(np.mean(real > 10), abs=0.02)
    assert per_whale.max() > 20


def test_no_whale_takes_over_a_small_set():
    labels = np.array(synthetic.plan_labels(240, np.random.default_rng(3)))
    _, per_whale = np.unique(labels[labels != "new_whale"], return_counts=True)
    assert per_whale.max() <= 0.05 * per_whale.sum()


def test_photos_vary_like_the_real_ones(tmp_path):
    folder = synthetic.generate(tmp_path / "photos", images=120, seed=1, size=0.1)
    images = [Image.open(p) for p in sorted((folder / "train").iterdir())]
    grey = [im for im in images if im.mode == "L" or
            np.ptp(np.asarray(im.convert("RGB"), dtype=int).std(axis=2)) == 0]
    assert 0.15 < len(grey) / len(images) < 0.45
    assert any(im.mode == "L" for im in images)        # single-channel JPEGs too
    assert len({im.size for im in images}) > 20


def test_refuses_folder_it_did_not_make(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    with pytest.raises(FileExistsError, match="not a synthetic set"):
        synthetic.generate(tmp_path, images=5)
    assert (tmp_path / "mine.txt").read_text() == "precious"
    assert not (tmp_path / "train.csv").exists()


def test_up_to_date_set_is_left_alone_unless_forced(tmp_path):
    out = synthetic.generate(tmp_path / "s", images=8, seed=0, size=0.1)
    stamp = (out / "train.csv").stat().st_mtime_ns
    synthetic.generate(out, images=8, seed=0, size=0.1)
    assert (out / "train.csv").stat().st_mtime_ns == stamp
    synthetic.generate(out, images=6, seed=0, size=0.1)   # other options: regenerated
    assert len(list((out / "train").iterdir())) == 6
    assert json.loads((out / synthetic.MARKER).read_text())["images"] == 6


def test_cli_reports_refusal(tmp_path, capsys):
    (tmp_path / "x").write_text("")
    assert synthetic.main(["--out", str(tmp_path), "--images", "4"]) == 2
    assert "not a synthetic set" in capsys.readouterr().err


def test_parallel_and_serial_drawing_give_the_same_bytes(tmp_path):
    serial = synthetic.generate(tmp_path / "serial", images=110, seed=2, size=0.08, workers=1)
    parallel = synthetic.generate(tmp_path / "parallel", images=110, seed=2, size=0.08, workers=2)
    assert digest(serial) == digest(parallel)
