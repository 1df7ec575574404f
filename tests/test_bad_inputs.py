"""Crafted bad inputs: each gives a clear error that names the file, row, column or
parameter (raised before long work), or a counted skip, or a correct result; none loses
a file the user owns. Every case that writes compares the user's files before and after.
"""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from whale_series import series
from whale_utils import data
from whale_utils.data import synthetic
from whale_utils.session import params, profile


# --------------------------------------------------------------------------- helpers
@pytest.fixture
def photos(tmp_path, tiny_set) -> Path:
    """A private copy of the tiny synthetic set (60 photos) that a case may break."""
    return Path(shutil.copytree(tiny_set, tmp_path / "set"))


def listing(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` with a digest of its bytes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def names(folder: Path) -> list[str]:
    return list(data.read_labels(folder)["Image"])


def write_csv(folder: Path, text: str | bytes) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "train.csv"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


# --------------------------------------------------------------------------- photos
def test_truncated_photo_is_named_with_its_row(photos, tmp_path):
    """Its header reads, its image data ends early: TensorFlow's decoder finds it."""
    name = names(photos)[7]
    path = photos / "train" / name
    path.write_bytes(path.read_bytes()[:path.stat().st_size // 2])
    with pytest.raises(data.BadPhotosError) as err:
        data.load_dataset(photos, None, 32, cache_dir=tmp_path / "cache")
    assert f"{path} (train.csv row 9): image data cannot be decoded" in str(err.value)
    assert "bad_photos='skip'" in str(err.value)
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


def test_empty_photo_is_named_as_empty(photos):
    name = names(photos)[0]
    (photos / "train" / name).write_bytes(b"")
    with pytest.raises(data.BadPhotosError, match=rf"{name} \(train.csv row 2\): empty file"):
        data.load_photos(photos, names(photos), 32, cache_dir=None)[0]


def test_text_file_named_jpg_is_not_an_image(photos):
    name = names(photos)[3]
    (photos / "train" / name).write_text("this is not a photo\n")
    with pytest.raises(data.BadPhotosError,
                       match=rf"{name} \(train.csv row 5\): not a readable image"):
        data.load_photos(photos, names(photos), 32, cache_dir=None)[0]


def test_every_bad_photo_is_listed_at_once(photos):
    bad = names(photos)[10:13]
    for name in bad:
        (photos / "train" / name).write_bytes(b"\xff\xd8\xff garbage")
    with pytest.raises(data.BadPhotosError) as err:
        data.load_photos(photos, names(photos), 32, cache_dir=None)[0]
    assert len(err.value.bad) == 3 and all(name in str(err.value) for name in bad)


def test_skip_leaves_bad_photos_out_counted_and_listed(photos, tmp_path):
    before = listing(photos)
    bad = [names(photos)[5], names(photos)[20]]
    (photos / "train" / bad[0]).write_bytes(b"")
    (photos / "train" / bad[1]).write_bytes((photos / "train" / bad[1]).read_bytes()[:200])
    with pytest.warns(UserWarning, match=r"skipped 2 unreadable photo\(s\) of 60") as caught:
        whales = data.load_dataset(photos, None, 32, cache_dir=tmp_path / "c", bad_photos="skip")
    assert all(name in str(caught[0].message) for name in bad)
    assert len(whales.frame) == 58 and len(whales.images) == 58
    assert not set(bad) & set(whales.frame["Image"])
    good = data.load_photos(photos, list(whales.frame["Image"]), 32, cache_dir=None)[0]
    assert np.array_equal(good, whales.images)            # each row kept its own photo
    assert set(listing(photos)) == set(before)            # nothing deleted


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_is_applied_as_viewers_do(tmp_path, orientation):
    from PIL import Image, ImageOps

    (tmp_path / "train").mkdir()
    y, x = np.mgrid[0:60, 0:100]
    picture = np.stack([x * 2, y * 4, np.where(x < 20, 255, 0)], axis=-1).astype(np.uint8)
    exif = Image.Exif()
    exif[data.EXIF_ORIENTATION] = orientation
    Image.fromarray(picture).save(tmp_path / "train" / "p.jpg", quality=98, exif=exif)
    viewer = ImageOps.exif_transpose(Image.open(tmp_path / "train" / "p.jpg"))
    expected = np.asarray(viewer.resize((32, 32), Image.Resampling.BOX), dtype=float)
    ours = data.load_photos(tmp_path, ["p.jpg"], 32, cache_dir=None)[0][0].astype(float)
    assert np.abs(ours - expected).mean() < 3


# --------------------------------------------------------------------------- train.csv
def test_empty_csv(tmp_path):
    write_csv(tmp_path, b"")
    with pytest.raises(ValueError, match=r"train.csv is empty \(0 bytes\)"):
        data.read_labels(tmp_path)


def test_header_without_rows(tmp_path):
    write_csv(tmp_path, "Image,Id\n")
    with pytest.raises(ValueError, match="train.csv has a header but no rows"):
        data.read_labels(tmp_path)


def test_csv_not_utf8_names_the_row(tmp_path):
    write_csv(tmp_path, "Image,Id\na.jpg,w_1\nb.jpg,w_caf\xe9\n".encode("latin-1"))
    with pytest.raises(ValueError, match=r"train.csv, row 3: byte 0xe9 is not UTF-8"):
        data.read_labels(tmp_path)


def test_wrong_header_names_the_columns(tmp_path):
    write_csv(tmp_path, "image;id\na.jpg;w_1\n")
    with pytest.raises(ValueError, match=r"column\(s\) Image, Id missing"):
        data.read_labels(tmp_path)


def test_exact_duplicates_are_dropped_and_counted(tmp_path):
    write_csv(tmp_path, "Image,Id\na.jpg,w_1\nb.jpg,w_2\na.jpg,w_1\nc.jpg,new_whale\nb.jpg,w_2\n")
    with pytest.warns(UserWarning, match=r"dropped 2 exact duplicate row\(s\) \(file rows 4, 6\)"):
        frame = data.read_labels(tmp_path)
    assert list(frame["Image"]) == ["a.jpg", "b.jpg", "c.jpg"]
    assert list(frame.index) == [2, 3, 5]                  # each row keeps its file line


def test_one_photo_under_two_ids_is_an_error_naming_rows(tmp_path):
    write_csv(tmp_path, "Image,Id\na.jpg,w_1\nb.jpg,w_2\nc.jpg,w_3\na.jpg,w_9\n")
    with pytest.raises(ValueError, match="a.jpg is listed under different Ids in rows 2, 5"):
        data.read_labels(tmp_path)


def test_more_rows_asked_than_the_file_has(photos):
    with pytest.warns(UserWarning, match="N_ROWS=500, but .* has 60 rows: using all 60"):
        frame = data.read_labels(photos, 500)
    assert len(frame) == 60


def test_every_missing_photo_is_listed(photos):
    gone = names(photos)[1:3]
    for name in gone:
        (photos / "train" / name).unlink()
    with pytest.raises(FileNotFoundError, match=r"2 photo\(s\) listed in train.csv do not exist"
                       ) as err:
        data.load_photos(photos, names(photos), 32, cache_dir=None)[0]
    assert f"{gone[0]} (train.csv row 3)" in str(err.value)
    assert f"{gone[1]} (train.csv row 4)" in str(err.value)


# --------------------------------------------------------------------------- parameters
GOOD = {"DATA_DIR": "DATA", "N_ROWS": 50, "IMG_SIZE": 32, "EPOCHS": 2, "BATCH_SIZE": 32,
        "VALIDATION_SPLIT": 0.3, "SPLIT": "last-rows", "SEED": 0, "OUTPUT_DIR": "OUT",
        "VERBOSE": 2, "BACKBONE": "efficientnet-lite0", "BACKBONE_SIZE": 64,
        "BACKBONE_WEIGHTS": "auto"}


@pytest.fixture
def good(photos, tmp_path) -> dict:
    return {**GOOD, "DATA_DIR": str(photos), "OUTPUT_DIR": str(tmp_path / "out")}


def test_good_parameters_pass_and_are_returned(good):
    assert params.check({**good, "other": 1}) == good
    own = {"DROPOUT": 0.3, "ROTATION": 10, "ZOOM": 0.1, "SHIFT": 0.1, "MIN_DELTA": 0.5,
           "PATIENCE": 1, "CV_FOLDS": 2, "MARGIN": 0.6, "MONITOR": "val_loss",
           "OPTIMIZERS": ["adam", "sgd"], "NEW_WHALE_THRESHOLD": None, "TRUNK": "backbone"}
    assert params.check({**good, **own}) == {**good, **own}


@pytest.mark.parametrize("name, value, message", [
    ("N_ROWS", "100", "N_ROWS='100': must be a whole number (write it without quotes)"),
    ("N_ROWS", 1, "N_ROWS=1: must be at least 2"),
    ("BATCH_SIZE", 0, "BATCH_SIZE=0: must be at least 1"),
    ("EPOCHS", 0, "EPOCHS=0: must be at least 1"),
    ("EPOCHS", 2.5, "EPOCHS=2.5: must be a whole number"),
    ("IMG_SIZE", True, "IMG_SIZE=True: must be a whole number"),
    ("IMG_SIZE", 5000, "IMG_SIZE=5000: must be between 32 and 1024"),
    ("VALIDATION_SPLIT", 1.5, "VALIDATION_SPLIT=1.5: must be between 0 and 1"),
    ("VALIDATION_SPLIT", "0.3", "VALIDATION_SPLIT='0.3': must be a number between 0 and 1"),
    ("SPLIT", "random", "SPLIT='random': must be one of 'last-rows', 'known'"),
    ("SEED", -1, "SEED=-1: must be between 0 and"),
    ("VERBOSE", 3, "VERBOSE=3: must be one of 0, 1, 2"),
    ("BACKBONE_WEIGHTS", None, "BACKBONE_WEIGHTS=None: must be a non-empty string"),
    ("BACKBONE", "resnet50", "BACKBONE='resnet50': must be one of 'efficientnet-lite0', 'resnet50v2'"),
    ("BACKBONE_SIZE", 16, "BACKBONE_SIZE=16: must be between 32 and 1024"),
    ("BACKBONE_SIZE", "96", "BACKBONE_SIZE='96': must be a whole number (write it without quotes) "
                            "or None (the backbone sees IMG_SIZE)"),
    ("DROPOUT", 1, "DROPOUT=1: must be from 0 up to (not including) 1 (the dense layer's dropout"),
    ("ROTATION", "10", "ROTATION='10': must be a number (degrees, e.g. 10)"),
    ("ZOOM", -0.1, "ZOOM=-0.1: must be from 0 up to"),
    ("SHIFT", 2, "SHIFT=2: must be from 0 up to (not including) 1"),
    ("MIN_DELTA", -1, "MIN_DELTA=-1: must be at least 0"),
    ("PATIENCE", 1.5, "PATIENCE=1.5: must be a whole number"),
    ("CV_FOLDS", 1, "CV_FOLDS=1: must be at least 2"),
    ("MARGIN", 3.14, "MARGIN=3.14: must be from 0 up to (not including) 1.5 (radians"),
    ("MONITOR", "val_acc", "MONITOR='val_acc': must be one of 'val_loss', 'val_accuracy'"),
    ("OPTIMIZERS", "adam", "OPTIMIZERS='adam': must be a non-empty list of Keras optimizer names"),
    ("OPTIMIZERS", ["adam", "adamm"], "Keras has no optimizer 'adamm'"),
    ("TRUNK", "resnet", "TRUNK='resnet': must be one of 'cnn', 'backbone'"),
    ("NEW_WHALE_THRESHOLD", 2, "NEW_WHALE_THRESHOLD=2: must be from 0 to 1 (a cosine "
                               "similarity), or None"),
])
def test_each_bad_parameter_is_named(good, name, value, message):
    with pytest.raises(params.ParameterError) as err:
        params.check({**good, name: value})
    assert message in str(err.value)


def test_output_dir_that_cannot_be_written(good, tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("mine")
    with pytest.raises(params.ParameterError, match="OUTPUT_DIR=.*a-file/out.*cannot write there"):
        params.check({**good, "OUTPUT_DIR": str(blocker / "out")})
    assert blocker.read_text() == "mine"


def test_data_dir_without_train_csv(good, tmp_path):
    with pytest.raises(params.ParameterError, match="DATA_DIR=.*no train.csv there"):
        params.check({**good, "DATA_DIR": str(tmp_path / "nowhere")})


def test_split_without_training_rows_fails_before_decoding(photos, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "load_photos", lambda *a, **k: pytest.fail("decoded photos"))
    with pytest.raises(ValueError, match="leaves no training rows among 2 rows"):
        data.load_dataset(photos, 2, 32, validation_split=0.9, cache_dir=tmp_path)


def test_image_size_beyond_memory_says_how_much(photos, tmp_path, monkeypatch):
    monkeypatch.setattr(data, "available_memory", lambda: 2**28)
    monkeypatch.setattr(data, "decode_dataset", lambda *a, **k: pytest.fail("decoded photos"))
    monkeypatch.setattr(data, "read_cache", lambda *a, **k: pytest.fail("read cached photos"))
    with pytest.raises(MemoryError, match=r"IMG_SIZE=1024 with 60 photos needs about 0.5 GiB.*"
                                          r"and 0.2 GiB is available"):
        data.load_dataset(photos, None, 1024, cache_dir=tmp_path)
    with pytest.raises(MemoryError, match="IMG_SIZE=1024 with 25361 photos needs about 222.9 GiB"):
        data.check_memory(25361, 1024, available=24 * 2**30)


# --------------------------------------------------------------------------- image cache
def test_photo_replaced_in_the_middle_is_decoded_again(photos, tmp_path):
    listed = names(photos)
    first = data.load_photos(photos, listed, 32, cache_dir=tmp_path)[0]
    middle = photos / "train" / listed[30]
    middle.write_bytes((photos / "train" / listed[0]).read_bytes())
    second = data.load_photos(photos, listed, 32, cache_dir=tmp_path)[0]
    assert np.array_equal(second[30], first[0]) and not np.array_equal(second[30], first[30])
    assert np.array_equal(np.delete(second, 30, 0), np.delete(first, 30, 0))


def test_damaged_cache_is_rebuilt_with_a_warning(photos, tmp_path):
    listed = names(photos)
    fresh = data.load_photos(photos, listed, 32, cache_dir=tmp_path)[0]
    (cache,) = tmp_path.glob("images-*.npy")
    cache.write_bytes(cache.read_bytes()[:1000])
    with pytest.warns(UserWarning, match=f"cache {cache} cannot be read"):
        again = data.load_photos(photos, listed, 32, cache_dir=tmp_path)[0]
    assert np.array_equal(again, fresh)
    assert np.array_equal(np.load(cache), fresh)           # rebuilt whole


def _load_into_cache(args):
    folder, cache = args
    return data.load_photos(folder, data.read_labels(folder)["Image"], 40, cache_dir=cache)[0].sum()


def test_two_processes_writing_one_cache_at_once(photos, tmp_path):
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    cache = tmp_path / "cache"
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        sums = list(pool.map(_load_into_cache, [(photos, cache)] * 2))
    assert sums[0] == sums[1]
    files = [p.name for p in cache.iterdir()]
    assert len(files) == 1 and files[0].endswith(".npy")  # no partial file left behind
    assert np.load(cache / files[0]).sum() == sums[0]


# --------------------------------------------------------------------------- synthetic data
def test_regenerating_refuses_a_photo_the_user_added(tmp_path):
    out = synthetic.generate(tmp_path / "s", images=8, seed=0, size=0.1)
    (out / "train" / "my_own_whale.jpg").write_bytes(b"precious")
    before = listing(out)
    with pytest.raises(FileExistsError, match=r"holds files this generator did not write: .*"
                                              r"my_own_whale.jpg"):
        synthetic.generate(out, images=6, seed=0, size=0.1)
    assert listing(out) == before


def test_regenerating_removes_only_what_it_wrote(tmp_path):
    out = synthetic.generate(tmp_path / "s", images=8, seed=0, size=0.1)
    old = set(listing(out))
    synthetic.generate(out, images=6, seed=1, size=0.1)
    new = set(listing(out))
    assert len([n for n in new if n.startswith("train/")]) == 6
    marker = json.loads((out / synthetic.MARKER).read_text())
    assert sorted(marker["files"]) == sorted(n for n in new if n.startswith("train/"))
    assert old != new


def test_out_pointing_at_a_file(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert synthetic.main(["--out", str(target), "--images", "4"]) == 2
    assert f"{target} is a file, not a folder" in capsys.readouterr().err
    assert target.read_text() == "mine"


# --------------------------------------------------------------------------- runs
def test_unknown_notebook_is_refused_before_any_data_is_made(monkeypatch):
    monkeypatch.setattr(series, "prepare_data", lambda *a: pytest.fail("data prepared"))
    with pytest.raises(SystemExit, match="no notebook '99'"):
        series.run_profile("smoke", ["99"])


def test_a_failing_notebook_does_not_stop_the_others(tmp_path, monkeypatch, capsys):
    """Real papermill runs: 01 with BATCH_SIZE=0 stops at its parameter check, 06 runs."""
    smoke = profile.load("smoke")
    out = tmp_path / "outputs"
    (out / "metrics").mkdir(parents=True)
    (out / "metrics" / "06_transfer_early_stopping.json").write_text('{"earlier": "run"}')
    settings = {**smoke, "OUTPUT_DIR": str(out), "EPOCHS": 1,
                "notebooks": {"01_overfit_baseline": {"BATCH_SIZE": 0}}}
    monkeypatch.setattr(profile, "load", lambda name: settings)
    sources = listing(series.NOTEBOOK_DIR)
    with pytest.raises(SystemExit, match="1 of 2 notebook"):
        series.run_profile("smoke", ["01", "06"], jobs=1)
    err = capsys.readouterr().err
    assert "FAILED 01_overfit_baseline: cell" in err and "BATCH_SIZE=0: must be at least 1" in err
    assert f"partial executed notebook: {out / '01_overfit_baseline.ipynb'}" in err
    assert (out / "metrics" / "06_transfer_early_stopping.json").is_file()   # 06 ran to the end
    assert not (out / "metrics" / "01_overfit_baseline.json").exists()
    archived = list((tmp_path / "archive").rglob("06_transfer_early_stopping.json"))
    assert [json.loads(p.read_text()) for p in archived] == [{"earlier": "run"}]
    assert listing(series.NOTEBOOK_DIR) == sources         # sources never written
    assert set(series.read_timings(out)) == {"06_transfer_early_stopping"}   # for next time



# --------------------------------------------------------------------------- still working
@pytest.mark.parametrize("kind", ["cmyk", "grey16", "huge", "tiny", "grey"])
def test_unusual_but_good_photos_still_load(tmp_path, kind):
    """Photo formats the real data and users bring keep decoding to the right picture."""
    from PIL import Image

    (tmp_path / "train").mkdir()
    path = tmp_path / "train" / ("p.png" if kind == "grey16" else "p.jpg")
    colour = (200, 60, 20)
    if kind == "cmyk":
        Image.new("RGB", (120, 90), colour).convert("CMYK").save(path, quality=95)
    elif kind == "grey16":
        Image.fromarray(np.full((70, 90), 40000, dtype=np.uint16)).save(path)
        colour = (155, 155, 155)                            # 40000 / 65535 * 255
    elif kind == "huge":
        Image.new("RGB", (4200, 2800), colour).save(path, quality=90)
    elif kind == "tiny":
        Image.new("RGB", (9, 7), colour).save(path, quality=95)
    else:
        Image.new("L", (300, 100), 120).save(path)
        colour = (120, 120, 120)
    image = data.load_photos(tmp_path, [path.name], 32, cache_dir=None)[0][0]
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    assert np.abs(image[16, 16].astype(int) - colour).max() <= 6, image[16, 16]
