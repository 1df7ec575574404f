import os

import numpy as np
import pandas as pd
import pytest
from conftest import REAL_SAMPLE

from whale_utils import data


def test_read_labels_takes_first_rows(tiny_set):
    frame = data.read_labels(tiny_set, 25)
    assert list(frame.columns) == ["Image", "Id"] and len(frame) == 25
    assert frame["Image"].is_monotonic_increasing


def test_read_labels_names_missing_column(tmp_path):
    (tmp_path / "train.csv").write_text("Image,Whale\na.jpg,w_1\n")
    with pytest.raises(ValueError, match=r"train.csv: column\(s\) Id missing"):
        data.read_labels(tmp_path)


def test_read_labels_names_empty_row(tmp_path):
    (tmp_path / "train.csv").write_text("Image,Id\na.jpg,w_1\nb.jpg,\n")
    with pytest.raises(ValueError, match="row 3: empty 'Id'"):
        data.read_labels(tmp_path)


def test_read_labels_says_how_to_get_data(tmp_path):
    with pytest.raises(FileNotFoundError, match="make data"):
        data.read_labels(tmp_path)


def test_missing_image_names_file_and_row(tiny_set, tmp_path):
    frame = data.read_labels(tiny_set)
    names = list(frame["Image"][:3]) + ["nothere.jpg"]
    with pytest.raises(FileNotFoundError, match=r"nothere.jpg \(train.csv row 5\)"):
        data.image_paths(tiny_set, names)


def test_encode_labels_is_sparse_integers():
    labels, encoder = data.encode_labels(["w_b", "new_whale", "w_b", "w_a"])
    assert labels.dtype == np.int32 and labels.ndim == 1
    assert list(encoder.inverse_transform(labels)) == ["w_b", "new_whale", "w_b", "w_a"]


def test_seed_split_is_keras_validation_split():
    import keras
    from keras.src.trainers.data_adapters import array_slicing

    x = np.arange(37)
    (train, _), (val, _) = array_slicing.train_validation_split(
        (x, x), validation_split=0.3)
    train_idx, val_idx = data.split_rows(["w"] * 37, 0.3, "last-rows")
    assert keras.ops.convert_to_numpy(train).tolist() == train_idx.tolist()
    assert keras.ops.convert_to_numpy(val).tolist() == val_idx.tolist()


def test_known_split_keeps_every_validation_whale_in_training():
    rng = np.random.default_rng(1)
    ids = np.array(["new_whale"] * 380 + [f"w_{i % 150}" for i in range(620)])[rng.permutation(1000)]
    train_idx, val_idx = data.split_rows(ids, 0.3, "known", seed=4)
    assert len(np.intersect1d(train_idx, val_idx)) == 0
    assert len(train_idx) + len(val_idx) == 1000
    val_known = set(ids[val_idx]) - {"new_whale"}
    assert val_known <= set(ids[train_idx])
    assert np.mean(ids[val_idx] == "new_whale") == pytest.approx(0.38, abs=0.02)
    assert 0.2 < len(val_idx) / 1000 < 0.4
    again = data.split_rows(ids, 0.3, "known", seed=4)
    assert np.array_equal(again[1], val_idx)


def test_split_rejects_bad_parameters():
    with pytest.raises(ValueError, match="SPLIT must be one of"):
        data.split_rows(["w"] * 10, 0.3, "random")
    with pytest.raises(ValueError, match="VALIDATION_SPLIT"):
        data.split_rows(["w"] * 10, 1.5)


def test_load_photos_uint8_and_cached(tiny_set, tmp_path):
    names = data.read_labels(tiny_set)["Image"][:10]
    first = data.load_photos(tiny_set, names, 40, cache_dir=tmp_path)[0]
    assert first.dtype == np.uint8 and first.shape == (10, 40, 40, 3)
    assert len(list(tmp_path.glob("images-40px-10-*.npy"))) == 1
    assert np.array_equal(data.load_photos(tiny_set, names, 40, cache_dir=tmp_path)[0], first)


def test_decode_grey_and_png_to_rgb(tmp_path):
    from PIL import Image

    (tmp_path / "train").mkdir()
    Image.new("L", (365, 102), 200).save(tmp_path / "train" / "grey.jpg")
    Image.new("RGBA", (50, 80), (10, 20, 30, 255)).save(tmp_path / "train" / "rgba.png")
    images = data.load_photos(tmp_path, ["grey.jpg", "rgba.png"], 32, cache_dir=None)[0]
    assert images.shape == (2, 32, 32, 3) and images.dtype == np.uint8
    assert abs(int(images[0, 16, 16, 0]) - 200) <= 1 and np.ptp(images[0, 16, 16]) == 0
    assert images[1, 5, 5].tolist() == [10, 20, 30]


@pytest.mark.skipif(not (REAL_SAMPLE / "train").is_dir(), reason="no ../shared/real-sample here")
def test_loads_real_kaggle_photos(tmp_path):
    names = sorted(os.listdir(REAL_SAMPLE / "train"))
    labels = pd.read_csv(REAL_SAMPLE / "train.csv")
    subset = labels[labels["Image"].isin(names)]
    assert len(subset) == len(names)
    images = data.load_photos(REAL_SAMPLE, subset["Image"], 100, cache_dir=None)[0]
    assert images.shape == (len(names), 100, 100, 3) and images.dtype == np.uint8
    assert images.std() > 10  # real content, not blank


def test_load_dataset_describes_split(tiny_set, tmp_path):
    whales = data.load_dataset(tiny_set, 50, 32, 0.3, "last-rows", 0, cache_dir=tmp_path)
    assert len(whales.train_idx) == 35 and len(whales.val_idx) == 15
    assert whales.x_train.dtype == np.uint8
    assert whales.source == "synthetic"
    text = whales.describe()
    assert "rows: 50" in text and "35 training rows, 15 validation rows" in text
    assert whales.encoder.classes_[whales.new_whale_label] == "new_whale"


def test_large_jpeg_scaled_decode_matches_full_decode(tmp_path):
    import tensorflow as tf
    from PIL import Image

    (tmp_path / "train").mkdir()
    y, x = np.mgrid[0:900, 0:1600]
    picture = np.stack([x % 256, y % 256, (x + y) % 256], axis=-1).astype(np.uint8)
    Image.fromarray(picture).save(tmp_path / "train" / "big.jpg", quality=95)
    ours = data.load_photos(tmp_path, ["big.jpg"], 64, cache_dir=None)[0][0].astype(float)
    raw = tf.io.read_file(str(tmp_path / "train" / "big.jpg"))
    full = tf.image.resize(tf.io.decode_jpeg(raw, channels=3), (64, 64), method="area").numpy()
    assert np.abs(ours - full).mean() < 4
