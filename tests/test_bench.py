"""`make bench` keeps working: a tiny run of the real script (no speed is asserted)."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_runs_every_section_and_prints_its_summary(tmp_path):
    out = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--images", "64",
         "--size", "0.1", "--img-size", "32", "--epochs", "2", "--backbone-size", "64",
         "--data-dir", str(tmp_path / "bench"), "--save", str(tmp_path / "bench.txt")],
        capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    for heading in ("1. input throughput", "2. student's CNN", "3. transfer model",
                    "4. peak memory", "5. the series", "where our time goes",
                    "the physical limit: a training step is"):
        assert heading in out.stdout
    summary = json.loads(out.stdout.split("summary: ")[-1])
    assert set(summary) == {"input_run", "input_warm_cache", "input_seed_scale",
                            "augmentation_overhead", "hardware_share", "backbone_pass", "transfer_epoch",
                            "memory", "series"}
    assert all(value > 0 for key, value in summary.items() if key != "augmentation_overhead")
    saved = (tmp_path / "bench.txt").read_text()                  # the book's speed page
    assert saved.split("summary: ")[-1] == out.stdout.split("summary: ")[-1]
    assert "2. student's CNN" in saved


def test_the_bench_pipeline_augments_with_the_students_ranges_whatever_its_seed(monkeypatch):
    """Its seed once landed in the rotation (0 degrees with seed 0)."""
    import importlib.util

    import numpy as np

    from whale_utils import augment

    spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "bench.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    made = []
    build = augment.student_augmentation
    monkeypatch.setattr(augment, "student_augmentation",
                        lambda *args, **kwargs: made.append(build(*args, **kwargs)) or made[-1])
    images = np.zeros((4, 32, 32, 3), dtype=np.uint8)
    bench.augmented_dataset(images, np.arange(4), 2, seed=5)
    layer, = made
    assert (layer.rotation, layer.zoom, layer.shift, layer.seed) == (10.0, 0.1, 0.1, 5)


def test_loading_photos_peaks_near_the_array_itself(tiny_set):
    """The bench's memory probe (a fresh process, its resident set sampled while photos
    load): from 300 to 600 photos the peak grows by about the array, not twice it (the
    decoding pipeline once buffered every batch of a small load)."""
    def probe(n):
        out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "bench.py"),
                              "--memory-probe", "ours", "--data-dir", str(tiny_set),
                              "--images", str(n), "--img-size", "100"],
                             check=True, capture_output=True, text=True)
        return json.loads(out.stdout.strip().splitlines()[-1])
    small, large = probe(300), probe(600)
    growth = large["peak_mib"] - small["peak_mib"]
    array = large["array_mib"] - small["array_mib"]
    assert growth < 1.5 * array, f"peak grew {growth:.1f} MiB for {array:.1f} MiB of photos"
