"""Shared code of the whale-notebooks series: one module per concern."""

import os

# Quiet TensorFlow's C++ logging before anything imports it: executed notebooks must
# not record log lines that a re-run would not print.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

__version__ = "1.1.0"   # as pyproject.toml says (a test checks)
