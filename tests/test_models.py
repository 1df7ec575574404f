import keras
import numpy as np
import pytest

from whale_utils import models


def layer_types(model):
    return [type(layer).__name__ for layer in model.layers]


def test_student_cnn_architecture():
    model = models.baseline_cnn(64, 10)
    assert model.inputs[0].dtype == "uint8"
    assert layer_types(model) == [
        "Rescaling", "Conv2D", "Conv2D", "MaxPooling2D", "BatchNormalization",
        "Conv2D", "Conv2D", "MaxPooling2D", "Dropout",
        "Conv2D", "Conv2D", "MaxPooling2D", "BatchNormalization",
        "Flatten", "Dense", "BatchNormalization", "Dense"]
    assert [l.filters for l in model.layers if hasattr(l, "filters")] == [16, 16, 32, 32, 64, 64]
    assert model.layers[-1].units == 10 and model.layers[-3].units == 256
    assert model.layers[8].rate == 0.25


def test_dropout_cnn_wraps_the_dense_block():
    types = layer_types(models.baseline_cnn(64, 10, dense_dropout=0.3))
    assert types[13:] == ["Flatten", "Dropout", "Dense", "BatchNormalization", "Dropout", "Dense"]


def test_transfer_model_with_random_backbone():
    backbone = models.resnet_backbone(32, "none")
    head = models.transfer_head(7)
    model = models.transfer_model(backbone, head)
    assert model.output.shape == (None, 7)
    assert layer_types(head) == ["BatchNormalization", "Dense", "Dropout",
                                 "BatchNormalization", "Dropout", "Dense"]
    assert not backbone.trainable_weights
    counts = models.count_params(model)
    assert counts["trainable"] == models.count_params(head)["trainable"]
    assert counts["frozen"] > 23_000_000


def test_backbone_preprocessing_is_resnet_v2s():
    backbone = models.resnet_backbone(32, "none")
    layer = backbone.get_layer("resnet_v2_preprocess")
    x = np.array([[[[0, 127.5, 255]]]], dtype="float32")
    assert np.allclose(keras.ops.convert_to_numpy(layer(x)), [-1, 0, 1])
    images = np.array([[[[0, 128, 255]]]], dtype="uint8")
    assert np.allclose(models.resnet_v2_preprocessing(images), layer(images.astype("float32")))
    student = models.student_preprocessing(np.random.default_rng(0).integers(0, 256, (4, 8, 8, 3)))
    assert student.max() - student.min() < 1.1   # about half of the [-1, 1] span


def test_imagenet_offline_fails_fast_with_advice(monkeypatch, tmp_path):
    from keras.src.applications import resnet

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(resnet, "BASE_WEIGHTS_PATH", "http://127.0.0.1:9/")
    monkeypatch.setattr(keras.src.utils.file_utils, "get_file",
                        _get_file_in(tmp_path, keras.src.utils.file_utils.get_file))
    with pytest.raises(RuntimeError) as err:
        models.resnet_backbone(32, "imagenet")
    message = str(err.value)
    assert models.RESNET_WEIGHTS_FILE in message and "'none'" in message
    assert "http" not in message


def _get_file_in(folder, get_file):
    def fetch(*args, **kwargs):
        kwargs["cache_dir"] = str(folder)
        return get_file(*args, **kwargs)
    return fetch


def test_weights_from_a_file(tmp_path):
    source = models.resnet_backbone(32, "none").layers[-1]
    path = tmp_path / "resnet.weights.h5"
    source.save_weights(path)
    loaded = models.resnet_backbone(32, str(path)).layers[-1]
    assert np.array_equal(loaded.weights[0].numpy(), source.weights[0].numpy())


def test_bad_weights_path_names_the_parameter(tmp_path):
    with pytest.raises(FileNotFoundError, match="BACKBONE_WEIGHTS='nowhere.h5'"):
        models.resnet_backbone(32, "nowhere.h5")
    junk = tmp_path / "junk.weights.h5"
    junk.write_bytes(b"not weights")
    with pytest.raises(ValueError, match="could not load .*junk.weights.h5"):
        models.resnet_backbone(32, str(junk))


def test_weights_note_says_what_random_weights_mean():
    assert "RANDOM" in models.choose_backbone_weights("none").note
    assert "ImageNet weights, frozen" in models.choose_backbone_weights("imagenet").note


def test_auto_picks_up_the_keras_cached_file_offline(monkeypatch, tmp_path):
    """A weights file of the same architecture under Keras' cache name is used as ImageNet's."""
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(models, "RESNET_WEIGHTS_URL", "http://127.0.0.1:9/unreachable")
    assert models.choose_backbone_weights("auto").source == "none-offline"
    source = keras.applications.ResNet50V2(weights=None, include_top=False, pooling="avg",
                                           input_shape=(32, 32, 3))
    cached = tmp_path / "models" / models.RESNET_WEIGHTS_FILE
    cached.parent.mkdir()
    source.save(cached)   # legacy HDF5, the format Keras downloads
    chosen = models.choose_backbone_weights("auto")
    assert (chosen.source, chosen.load, chosen.imagenet) == ("imagenet-cached", str(cached), True)
    loaded = models.resnet_backbone(32, chosen).layers[-1]
    assert np.array_equal(loaded.weights[0].numpy(), source.weights[0].numpy())


def test_auto_without_cache_or_server_goes_random_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(models, "keras_cache_files", lambda: [tmp_path / "models" / "absent.h5"])
    monkeypatch.setattr(models, "download_server_answers", lambda: False)
    chosen = models.choose_backbone_weights("auto")
    assert (chosen.source, chosen.load) == ("none-offline", None)
    assert "RANDOM" in chosen.note and "could be reached" in chosen.note
    monkeypatch.setattr(models, "download_server_answers", lambda: True)
    assert models.choose_backbone_weights("auto").source == "imagenet-download"


def test_download_probe_answers_fast_both_ways():
    import http.server
    import threading
    import time

    server = http.server.HTTPServer(("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler)
    threading.Thread(target=server.handle_request, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    try:
        assert models.download_server_answers(url, seconds=5)
    finally:
        server.server_close()
    start = time.perf_counter()
    assert not models.download_server_answers("http://127.0.0.1:9/", seconds=2)
    assert time.perf_counter() - start < 3
