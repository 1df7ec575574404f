"""Everything the whale-notebooks notebooks run: one module per concern.

Its top level is what the notebooks call (``data``, ``augment``, ``backbones``, ``models``,
``embedding``, ``training``, ``gridsearch``, ``compat``, ``metrics``, ``narrate``,
``plots``, ``session``, ``exercises``, and ``lessons``, generated from the notebooks).
What three of those calls run behind them sits in their sub-packages: ``session``'s
parameters' checks, profiles, metrics record and registry of notebooks; ``backbones``'
weights and the reader of their PyTorch file; ``data``'s synthetic stand-in. Nothing here
imports ``whale_series``, which drives the notebooks from outside."""

import os

# Quiet TensorFlow's C++ logging before anything imports it: executed notebooks must
# not record log lines that a re-run would not print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")
if os.environ["KERAS_BACKEND"] == "torch":
    # PyTorch before TensorFlow (which every backend keeps for tf.data): the other order
    # can crash the process, and Keras' own tests import them in this order too.
    import torch  # noqa: F401

__version__ = "1.1.0"   # as pyproject.toml says (a test checks)
