"""The series on every Keras backend.

The layer test runs where JAX or PyTorch is installed (``make test-backends``, in
``.venv-jax`` and ``.venv-torch``): the series' models and layers, with the same weights
on the same photos (``whale_series.backends.probe``), computed in one process per backend
and compared with TensorFlow's. The others run everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from whale_series import backends
from whale_utils.session import registry

ROOT = Path(__file__).resolve().parent.parent


def probe(backend: str, folder: Path) -> dict:
    path = folder / f"{backend}.npz"
    subprocess.run([sys.executable, "-m", "whale_series.backends", "--probe", str(path)],
                   env={**os.environ, "KERAS_BACKEND": backend}, check=True,
                   capture_output=True, cwd=ROOT)
    return dict(np.load(path))


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_every_model_computes_on_the_backend_what_it_computes_on_tensorflow(backend, tmp_path):
    if importlib.util.find_spec(backend) is None:
        pytest.skip(f"{backend} is not installed in this environment (make test-backends)")
    theirs, ours = probe(backend, tmp_path), probe("tensorflow", tmp_path)
    assert set(theirs) == set(ours)
    for name, expected in ours.items():
        got = theirs[name]
        assert got.shape == expected.shape, name
        if expected.dtype == np.uint8:
            # Integer pixels: a value at .5 after float32 arithmetic may round either way.
            assert np.abs(got.astype(int) - expected).max() <= 1, name
            assert (got == expected).mean() > 0.999, name
        else:
            # float32 (rounding 6e-8 per step) through up to ~100 layers summed in another
            # order: measured at most 5e-6 of the output's scale (Lite0's features,
            # 2.7e-5 of 6). 1e-4 leaves 20x for other CPUs' kernels and still catches a
            # layer that computes something else (a uint8-rounded resize: 2e-2 of scale).
            scale = float(np.abs(expected).max())
            np.testing.assert_allclose(got, expected, rtol=0, atol=1e-4 * scale, err_msg=name)


def test_an_unknown_backend_is_refused_by_name():
    done = subprocess.run(["make", "-n", "run-all", "BACKEND=mxnet"], cwd=ROOT,
                          capture_output=True, text=True)
    assert done.returncode != 0
    assert "BACKEND=mxnet is not a Keras backend of the series" in done.stderr
    assert "tensorflow jax torch" in done.stderr


def test_each_backend_runs_in_its_own_environment_from_its_own_lock():
    for backend, venv, lock in [("tensorflow", ".venv", "requirements.lock"),
                                ("jax", ".venv-jax", "requirements-jax.lock"),
                                ("torch", ".venv-torch", "requirements-torch.lock")]:
        plan = subprocess.run(["make", "-n", "-B", "env", f"BACKEND={backend}"], cwd=ROOT,
                              capture_output=True, text=True, check=True).stdout
        assert f"{venv}/bin/python -m pip install" in plan and f"-r {lock}" in plan, backend


def test_the_backends_locks_keep_the_main_locks_pins():
    def pins(name):
        text = (ROOT / name).read_text()
        return dict(line.split("==", 1) for line in
                    (raw.split(" ")[0] for raw in text.splitlines()) if "==" in line)
    main = pins("requirements.lock")
    for backend, extra in [("jax", {"jax", "jaxlib"}), ("torch", {"torch"})]:
        locked = pins(f"requirements-{backend}.lock")
        assert {k: locked[k] for k in main} == main, backend
        assert extra <= set(locked) - set(main), backend
    assert pins("requirements-torch.lock")["torch"].endswith("+cpu")   # not the CUDA build


def fake_run(folder: Path, backend: str, shift: float, seconds: float, noise: int = 0,
             rows: int = 200):
    """Metrics of every notebook as a run on ``backend`` writes them: each row's AP@5 is
    the same draw plus ``shift`` and the noise drawn with seed ``noise`` (clipped)."""
    (folder / "metrics").mkdir(parents=True)
    base = np.random.default_rng(7).uniform(0, 1, rows)
    draw = np.random.default_rng(noise)
    for notebook in registry.notebooks():
        ap5 = np.clip(base + shift + draw.normal(0, 0.2, rows), 0, 1)
        record = {"notebook": notebook, "backend": backend,
                  "evaluation": {"model": {"map5": float(ap5.mean())}},
                  "versions": {"keras": "3.15.1", backend: "1.0"}}
        (folder / "metrics" / f"{notebook}.json").write_text(json.dumps(record))
        pd.DataFrame({"label": np.arange(rows) % 7, "model_ap5": ap5}).to_csv(
            folder / "metrics" / f"{notebook}.rows.csv", index=False)
    (folder / "timings.json").write_text(json.dumps({nb: seconds for nb in registry.notebooks()}))


def test_the_page_counts_what_its_intervals_say(tmp_path):
    fake_run(tmp_path / "p", "tensorflow", 0.0, 50)
    fake_run(tmp_path / "p-seed1", "tensorflow", 0.0, 50, noise=1)   # another stream
    fake_run(tmp_path / "p-jax", "jax", 0.0, 80)             # the same per-row results
    fake_run(tmp_path / "p-torch", "torch", -0.3, 60, noise=2)   # clearly worse everywhere
    text = backends.page("p", 300.0, outputs=tmp_path)
    n = len(registry.notebooks())
    assert f"- JAX: {n} of {n} notebooks within their interval of TensorFlow's." in text
    assert f"- PyTorch: 0 of {n} notebooks within" in text
    assert "PyTorch's differences exceed the largest seed change" in text
    assert "JAX's differences are all within the largest change" in text
    assert "(80 s)" in text and "matmul 300 GFLOP/s" in text
    assert text.count("**-0.") == n                           # PyTorch's, in bold


def test_a_run_on_the_wrong_backend_or_a_missing_one_is_named(tmp_path):
    fake_run(tmp_path / "p", "tensorflow", 0.0, 50)
    fake_run(tmp_path / "p-seed1", "tensorflow", 0.0, 50)
    fake_run(tmp_path / "p-jax", "jax", 0.0, 50)
    with pytest.raises(SystemExit, match="p-torch/metrics: run `make run-all`"):
        backends.page("p", None, outputs=tmp_path)
    fake_run(tmp_path / "p-torch", "torch", 0.0, 50)
    (tmp_path / "p-jax" / "metrics" / "01_overfit_baseline.json").write_text(json.dumps(
        {"notebook": "01_overfit_baseline", "backend": "tensorflow"}))   # KERAS_BACKEND unset
    with pytest.raises(SystemExit, match=r"p-jax/metrics/01_overfit_baseline.json ran on "
                                         r"tensorflow, not jax: run `make run-all BACKEND=jax`"):
        backends.page("p", None, outputs=tmp_path)
