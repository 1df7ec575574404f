"""The Keras backend the series runs on: TensorFlow (the default), JAX or PyTorch.

Keras reads ``KERAS_BACKEND`` once, when it is first imported: set it before (``make
run-all BACKEND=jax``, or ``os.environ["KERAS_BACKEND"] = "jax"`` at the top of a
notebook). TensorFlow stays installed on every backend: ``tf.data`` decodes the photos
and feeds ``fit``.
"""

from __future__ import annotations

BACKENDS = ("tensorflow", "jax", "torch")
DEFAULT = "tensorflow"


def name() -> str:
    """The backend Keras runs on in this process: tensorflow, jax or torch."""
    import keras

    return keras.backend.backend()
