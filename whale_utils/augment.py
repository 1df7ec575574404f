"""The student's data generation as Keras preprocessing layers in the tf.data pipeline.

ImageDataGenerator(rotation_range=10, zoom_range=0.1, width_shift_range=0.1,
height_shift_range=0.1) becomes RandomRotation, RandomZoom and RandomTranslation,
with ImageDataGenerator's "nearest" fill. Images stay uint8 on both sides.
"""

from __future__ import annotations

import keras
import numpy as np
import tensorflow as tf
from keras import layers


def student_augmentation(seed: int = 0) -> keras.Sequential:
    """Rotation ±10°, zoom ±10 %, width and height shift ±10 %."""
    return keras.Sequential([
        layers.RandomRotation(10 / 360, fill_mode="nearest", seed=seed),
        layers.RandomZoom(0.1, 0.1, fill_mode="nearest", seed=seed + 1),
        layers.RandomTranslation(0.1, 0.1, fill_mode="nearest", seed=seed + 2),
    ], name="student_augmentation")


def augmented_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int,
                      seed: int = 0) -> tf.data.Dataset:
    """Shuffled batches of augmented uint8 images, augmented afresh every epoch."""
    augmentation = student_augmentation(seed)

    def augment(x, y):
        x = augmentation(x, training=True)
        return tf.cast(tf.round(tf.clip_by_value(x, 0, 255)), tf.uint8), y

    return (tf.data.Dataset.from_tensor_slices((images, labels))
            .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            .map(augment, num_parallel_calls=tf.data.AUTOTUNE)
            .prefetch(tf.data.AUTOTUNE))
