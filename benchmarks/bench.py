"""The student's way against ours, on the same images and the same machine, in one run.

    make bench                       # about 10 minutes on 2 cores
    .venv/bin/python benchmarks/bench.py --images 960 --size 0.5

The student's way is Keras' legacy ``ImageDataGenerator.flow_from_dataframe`` for data
generation, ``load_img`` into float arrays divided by 255 for loading, and the frozen
ResNet50V2 run forward at every epoch. Ours is ``whale_utils``: a ``tf.data`` pipeline
(JPEG DCT scaling, an on-disk uint8 cache, Keras augmentation layers, prefetch) and
backbone features computed once. Every figure is measured here; section 5 extrapolates
the whole series at the student's scale from the measured per-step times.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import whale_utils  # noqa: F401  (quiets TensorFlow before it loads)

ROOT = Path(__file__).resolve().parents[1]



def augmented_dataset(images: np.ndarray, labels: np.ndarray, batch_size: int,
                      seed: int = 0):
    """Shuffled batches of augmented uint8 images, augmented afresh every epoch, in a
    ``tf.data`` pipeline: the series' input path measured against the student's generator
    (the notebooks put the layer in the model instead, on the training step's own threads)."""
    import tensorflow as tf

    from whale_utils import augment

    augmentation = augment.student_augmentation(seed=seed)

    def augment(x, y):
        return augmentation(x, training=True), y

    # tf.data runs each op on one thread: the fused resampling keeps up on one core
    # (3,600 images/s at 100 px), and leaves the other to the training step (letting it
    # use both added 8 % to a step of the student's CNN, against -2 to +5 % like this).
    return (tf.data.Dataset.from_tensor_slices((images, labels))
            .shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
            .batch(batch_size)
            # One map call at a time: parallel calls fight the training step for the
            # cores (measured on 2 cores: +120 % per step, against 0 % like this).
            .map(augment)
            .prefetch(tf.data.AUTOTUNE))


def clock(function, *args):
    start = time.perf_counter()
    result = function(*args)
    return time.perf_counter() - start, result


def row(label, ours, theirs, unit, better="higher"):
    ratio = ours / theirs if better == "higher" else theirs / ours
    print(f"  {label:46} ours {ours:10.2f} {unit:6}  student's {theirs:10.2f} {unit:6}  "
          f"-> {ratio:6.1f}x")
    return ratio


def student_flow(frame, data_dir, img_size, batch_size, seed=0):
    """The student's generator: legacy ImageDataGenerator.flow_from_dataframe."""
    from tensorflow.keras.preprocessing.image import ImageDataGenerator

    from whale_utils.augment import IMAGE_DATA_GENERATOR

    generator = ImageDataGenerator(rescale=1 / 255, **IMAGE_DATA_GENERATOR)
    return generator.flow_from_dataframe(
        frame, directory=str(Path(data_dir) / "train"), x_col="Image", y_col="label",
        target_size=(img_size, img_size), batch_size=batch_size, class_mode="raw",
        shuffle=True, seed=seed)


def epoch_of(batches):
    """Time to pull one epoch of batches."""
    start = time.perf_counter()
    count = 0
    for x, _ in batches:
        count += len(x)
    return time.perf_counter() - start, count


def input_run(data_dir, names, labels, img_size, batch, epochs, cache) -> dict:
    """Our input side of a training run, timed whole: load (decode or cache), build the
    augmented pipeline, pull every epoch. Returns the images and the seconds."""
    from whale_utils import data

    start = time.perf_counter()
    images = data.load_photos(data_dir, names, img_size, cache)[0]
    loaded = time.perf_counter()
    pipeline = augmented_dataset(images, labels, batch)
    ends = []
    for _ in range(epochs):
        epoch_of(pipeline)
        ends.append(time.perf_counter())
    return {"images": images, "load": loaded - start, "first": ends[0] - start,
            "cached": float(np.median(np.diff(ends))), "total": ends[-1] - start}


def fit_seconds_per_step(model, data, steps, **kwargs) -> float:
    """Seconds per training step over one epoch, after a warm-up epoch."""
    return interleaved_seconds_per_step({"one": (model, data, kwargs)}, steps, rounds=1)["one"]


def interleaved_seconds_per_step(ways: dict, steps: int, rounds: int = 5) -> dict:
    """Seconds per step of each way (a model, its data, fit's options): the fastest of
    ``rounds`` epochs taken in turn (a, b, a, b, ...) after a warm-up epoch each. On a
    shared machine some epochs lose a core and take twice as long; the fastest epoch is
    the way's own cost."""
    def epoch(args):
        model, data, kwargs = args
        start = time.perf_counter()
        model.fit(data, epochs=1, verbose=0, **kwargs)
        return (time.perf_counter() - start) / steps

    for args in ways.values():
        epoch(args)
    times = {name: [] for name in ways}
    for _ in range(rounds):
        for name, args in ways.items():
            times[name].append(epoch(args))
    return {name: float(np.min(t)) for name, t in times.items()}


def training_step_flops(model, batch: int) -> float:
    """Floating-point operations of one training step: each convolution and dense layer's
    multiply-adds (2 FLOP each) for the batch, times 3 (forward, and the backward pass's
    two products: gradients of the inputs and of the weights)."""
    from keras import layers

    forward = 0
    for layer in model.layers:
        if isinstance(layer, layers.Conv2D):
            height, width, filters = layer.output.shape[1:]
            kh, kw, channels, _ = layer.kernel.shape
            forward += 2 * height * width * filters * kh * kw * channels
        elif isinstance(layer, layers.Dense):
            forward += 2 * layer.kernel.shape[0] * layer.kernel.shape[1]
    return 3.0 * forward * batch


def matmul_gflops(n: int = 2048, repeats: int = 10) -> float:
    """This machine's dense float32 matrix product in TensorFlow, GFLOP/s: the best of
    ``repeats`` products of two n x n matrices (2 n^3 FLOP each)."""
    import tensorflow as tf

    a = tf.random.uniform((n, n), seed=1)
    b = tf.random.uniform((n, n), seed=2)
    tf.matmul(a, b).numpy()                                 # warm-up
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        tf.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    return 2 * n ** 3 / best / 1e9


def memory_probe(way: str, data_dir: str, n: int, img_size: int) -> None:
    """Run in a fresh process: memory (MiB) added by loading n images one way.

    TensorFlow is imported first (both ways need it), then a thread samples the
    resident set every 2 ms while the images load: ``peak`` is the highest sample.
    """
    import threading

    import psutil
    import tensorflow as tf
    from tensorflow.keras.preprocessing import image

    from whale_utils import data

    names = np.resize(data.read_labels(data_dir)["Image"].to_numpy(), n)  # cycled up to n
    tf.constant(0)
    process = psutil.Process()
    base = process.memory_info().rss
    peak, done = [base], threading.Event()

    def sample():
        while not done.is_set():
            peak[0] = max(peak[0], process.memory_info().rss)
            time.sleep(0.002)

    sampler = threading.Thread(target=sample)
    sampler.start()
    start = time.perf_counter()
    if way == "student":
        x = np.zeros((len(names), img_size, img_size, 3))   # float64, as the student's
        for row, name in enumerate(names):
            picture = image.load_img(str(Path(data_dir) / "train" / name),
                                     target_size=(img_size, img_size))
            x[row] = image.img_to_array(picture)
        x /= 255
    else:
        x = data.load_photos(data_dir, names, img_size, cache_dir=None)[0]
    seconds = time.perf_counter() - start
    done.set()
    sampler.join()
    peak[0] = max(peak[0], process.memory_info().rss)   # the array itself, still alive
    print(json.dumps({"base_mib": base / 2**20, "peak_mib": peak[0] / 2**20,
                      "seconds": seconds, "array_mib": x.nbytes / 2**20, "dtype": str(x.dtype)}))


def measure_memory(way, data_dir, n, img_size):
    out = subprocess.run([sys.executable, __file__, "--memory-probe", way, "--data-dir",
                          str(data_dir), "--images", str(n), "--img-size", str(img_size)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=640, help="synthetic photos measured")
    parser.add_argument("--size", type=float, default=1.0,
                        help="photo size (1 = the real 1050 px wide)")
    parser.add_argument("--img-size", type=int, default=100, help="model input, px")
    parser.add_argument("--epochs", type=int, default=10, help="epochs of a training run")
    parser.add_argument("--backbone-size", type=int, default=96,
                        help="the size EfficientNet-Lite0 sees (BACKBONE_SIZE), px")
    parser.add_argument("--data-dir", default=str(ROOT / "data" / "synthetic" / "bench"))
    parser.add_argument("--save", default=str(ROOT / "outputs" / "bench.txt"),
                        help="also write the output there (the book's speed page reads it)")
    parser.add_argument("--memory-probe", choices=["student", "ours"], help=argparse.SUPPRESS)
    parser.add_argument("--matmul", action="store_true",
                        help="print only this machine's matmul GFLOP/s (for make backends)")
    args = parser.parse_args(argv)
    if args.matmul:
        print(f"{matmul_gflops():.1f}")
        return 0
    if args.memory_probe:
        memory_probe(args.memory_probe, args.data_dir, args.images, args.img_size)
        return 0
    Path(args.save).parent.mkdir(parents=True, exist_ok=True)
    partial = Path(args.save).with_suffix(".partial")
    with partial.open("w") as copy, contextlib.redirect_stdout(Tee(sys.stdout, copy)):
        status = measure(args)
    partial.replace(args.save)           # an interrupted run leaves the last output intact
    return status


class Tee:
    """A stream that writes to several."""

    def __init__(self, *streams):
        self.streams = streams

    def write(self, text):
        for stream in self.streams:
            stream.write(text)
        return len(text)

    def flush(self):
        for stream in self.streams:
            stream.flush()


def measure(args) -> int:
    """Every section of the benchmark, printed as it goes."""


    import keras

    from whale_utils import augment, backbones, data, lessons, training
    from whale_utils.data import synthetic

    cores = os.cpu_count()
    size, batch, epochs = args.img_size, 32, args.epochs
    print(f"machine: {cores} cores ({len(os.sched_getaffinity(0))} usable), "
          f"{args.images} synthetic photos at size {args.size}, input {size} px, batch {batch}")
    seconds, _ = clock(synthetic.generate, args.data_dir, args.images, 0, args.size)
    print(f"data: {args.data_dir} ({seconds:.1f} s)\n")
    frame = data.read_labels(args.data_dir)
    labels, _ = data.encode_labels(frame["Id"])
    frame = frame.assign(label=labels)
    n_classes = int(labels.max()) + 1
    training.set_seed(0)
    results = {}

    print("1. input throughput, images/s (decode, resize, augment)")
    flow = student_flow(frame, args.data_dir, size, batch)
    # The better of two epochs: the student's way at its best.
    (flow_seconds, count), _ = sorted(epoch_of(flow[i] for i in range(len(flow)))
                                      for _ in range(2))
    student_rate = count / flow_seconds
    # Three cold runs (each with an empty cache), each followed by one from its cache.
    # The first run of a process also builds the pipeline's functions and compiles
    # the resampling: that one-off cost is taken from it.
    cold_runs, warm_runs = [], []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as cache:
            cold_runs.append(input_run(args.data_dir, frame["Image"], labels, size, batch,
                                       epochs, cache))
            warm_runs.append(input_run(args.data_dir, frame["Image"], labels, size, batch,
                                       epochs, cache))
    first, cold = cold_runs[0], min(cold_runs, key=lambda run: run["total"])
    warm = min(warm_runs, key=lambda run: run["total"])
    images = cold["images"]
    row("first epoch (decode JPEGs + augment)", count / cold["first"], student_rate, "img/s")
    row("cached epoch (augment uint8 in memory)", count / cold["cached"], student_rate, "img/s")
    results["input_run"] = row(f"a {epochs}-epoch training run of these photos",
                               epochs * count / cold["total"], student_rate, "img/s")
    results["input_warm_cache"] = row("the same, decoded cache already on disk",
                                      epochs * count / warm["total"], student_rate, "img/s")
    print(f"  (runs timed whole: load, build the pipeline, {epochs} epochs; the best of 3, as "
          f"the student's is the better of 2 epochs; loading {cold['load']:.2f} s cold, "
          f"{warm['load']:.2f} s from the cache, which is how every notebook after the first "
          "that needs the same images starts)")
    one_off = max(first["first"] - first["load"] - first["cached"], 0.0)
    seed_rows = 7000
    seed_run = (one_off + seed_rows * cold["load"] / count
                + epochs * seed_rows * cold["cached"] / count)
    results["input_seed_scale"] = row(f"the same run at the seed scale ({seed_rows:,} photos)",
                                      epochs * seed_rows / seed_run, student_rate, "img/s")
    print(f"  (from the parts of the cold runs: once per process {one_off:.2f} s to build the "
          f"pipeline and compile the resampling, then per photo {cold['load'] / count * 1e3:.2f} "
          f"ms to decode and {cold['cached'] / count * 1e3:.2f} ms per epoch to augment; the "
          "student's generator has no fixed cost)\n")

    print("2. student's CNN, training step with each input path (ms/step)")
    steps = math.ceil(count / batch)
    cnn = lessons.compile_like_the_student(lessons.student_cnn(size, n_classes))
    augmenting = lessons.compile_like_the_student(keras.Sequential([
        keras.Input((size, size, 3), dtype="uint8"), augment.student_augmentation(seed=0),
        lessons.student_cnn(size, n_classes)]))
    in_memory = dict(y=labels, batch_size=batch)
    fastest = interleaved_seconds_per_step({"memory": (cnn, images, in_memory),
                                            "augmented": (augmenting, images, in_memory)},
                                           steps)
    memory_step, aug_step = fastest["memory"], fastest["augmented"]
    flow_step = fit_seconds_per_step(cnn, student_flow(frame, args.data_dir, size, batch), steps)
    print("  (in-memory with and without augmentation: the fastest of 5 epochs each, in turn)")
    print(f"  in-memory tensors {memory_step * 1e3:8.1f}   augmentation inside the model "
          f"{aug_step * 1e3:8.1f} ({aug_step / memory_step - 1:+.1%})   flow_from_dataframe "
          f"{flow_step * 1e3:8.1f} ({flow_step / memory_step - 1:+.1%})")
    results["augmentation_overhead"] = aug_step / memory_step - 1
    step_flops = training_step_flops(cnn, batch)
    peak = matmul_gflops()
    achieved = step_flops / memory_step / 1e9
    print(f"  the physical limit: a training step is {step_flops / 1e9:.1f} GFLOP (forward "
          f"and backward, convolutions and dense layers), so the step runs at "
          f"{achieved:.1f} GFLOP/s, {achieved / peak:.0%} of this machine's dense matmul "
          f"({peak:.1f} GFLOP/s, float32, measured now)")
    results["hardware_share"] = achieved / peak
    print()

    print("3. transfer model, one epoch (frozen backbones; their speed does not depend on "
          "their weights)")
    backbone = backbones.feature_extractor(backbones.choose_weights("efficientnet-lite0", "none"),
                                           size, args.backbone_size)
    resnet = backbones.feature_extractor(backbones.choose_weights("resnet50v2", "none"), size)
    feature_seconds, features = clock(lambda: backbones.backbone_features(backbone, images,
                                                                          cache_dir=None))
    resnet_seconds, _ = clock(lambda: backbones.backbone_features(resnet, images, cache_dir=None))
    results["backbone_pass"] = row(
        f"backbone pass: Lite0 {args.backbone_size} px vs ResNet50V2 {size} px",
        count / feature_seconds, count / resnet_seconds, "img/s")
    n_features = backbone.output_shape[-1]
    head = lessons.compile_like_the_student(lessons.transfer_head(n_classes, n_features))
    head_step = fit_seconds_per_step(head, features, steps, y=labels, batch_size=batch)
    full = lessons.compile_like_the_student(
        lessons.transfer_model(backbone, lessons.transfer_head(n_classes, n_features)))
    full_step = fit_seconds_per_step(full, images, steps, y=labels, batch_size=batch)
    results["transfer_epoch"] = row("epoch: head on cached features vs backbone",
                                    1 / (head_step * steps), 1 / (full_step * steps), "ep/s")
    print(f"  features computed once: {feature_seconds:.1f} s for {count} photos "
          f"({count / feature_seconds:.0f} img/s)\n")

    print("4. peak memory of loading the photos (fresh process each; per image = the")
    print("   growth between loading 300 and 600 photos, so fixed overheads cancel out;")
    print("   the photos are cycled through when there are fewer)")
    n_mem = 600
    probes = {way: [measure_memory(way, args.data_dir, k, size) for k in (n_mem // 2, n_mem)]
              for way in ("ours", "student")}
    per_image = {way: (b["peak_mib"] - a["peak_mib"]) / (n_mem - n_mem // 2)
                 for way, (a, b) in probes.items()}
    for way, (_, at_n) in probes.items():
        print(f"  {way:8} {at_n['dtype']:8} array {at_n['array_mib'] / n_mem * 1024:7.1f} KiB/image,"
              f" peak {per_image[way] * 1024:7.1f} KiB/image, fixed "
              f"{at_n['peak_mib'] - at_n['base_mib'] - per_image[way] * n_mem:6.1f} MiB")
    results["memory"] = row("peak for all 25,361 images (extrapolated)",
                            25361 * per_image["ours"] / 1024,
                            25361 * per_image["student"] / 1024, "GiB", better="lower")
    theirs = probes["student"][1]
    print()

    print(f"5. the series at the student's scale (10,000 rows, 7,000 training, {size} px, "
          f"{epochs} epochs), extrapolated from the per-step times above")
    train_steps, rows = math.ceil(7000 / batch), 10000
    load_student = theirs["seconds"] / n_mem * rows
    load_ours = (cold["load"] / count) * rows
    load_cached = (warm["load"] / count) * rows
    backbone_per_image = feature_seconds / count
    fit_cnn = epochs * train_steps * memory_step
    plan = {
        "01_overfit_baseline": (load_student + fit_cnn, load_ours + fit_cnn),
        "02_dropout": (load_student + fit_cnn, load_cached + fit_cnn),
        "03_dropout_datagen": (epochs * train_steps * flow_step,
                               load_cached + epochs * train_steps * aug_step),
        "04_transfer_learning": (load_student + epochs * (train_steps * full_step
                                                           + 3000 * backbone_per_image),
                                 load_cached + rows * backbone_per_image
                                 + epochs * train_steps * head_step),
        "05_transfer_datagen": (epochs * (train_steps * (full_step + flow_step - memory_step)
                                          + 3000 * backbone_per_image),
                                load_cached + 3000 * backbone_per_image
                                + epochs * train_steps * (full_step + aug_step - memory_step)),
        "06_transfer_early_stopping": None,
        "07_grid_search": (load_student + 5 * epochs * train_steps * full_step,
                           load_cached + rows * backbone_per_image
                           + 5 * epochs * train_steps * head_step),
    }
    plan["06_transfer_early_stopping"] = plan["04_transfer_learning"]
    total_theirs = total_ours = 0.0
    for notebook, (theirs_s, ours_s) in plan.items():
        total_theirs += theirs_s
        total_ours += ours_s
        print(f"  {notebook:28} ours {ours_s / 60:7.1f} min   student's {theirs_s / 60:7.1f} min"
              f"   -> {theirs_s / ours_s:5.1f}x")
    results["series"] = total_theirs / total_ours
    print(f"  {'whole series':28} ours {total_ours / 60:7.1f} min   student's "
          f"{total_theirs / 60:7.1f} min   -> {results['series']:5.1f}x")
    print("  method: per-step times of sections 2-3 times 219 steps per epoch; the student "
          "reloads the photos in each notebook, ours reads the uint8 cache (measured in 1); "
          "05 validates on features computed once, the student's runs the backbone on the "
          "3,000 validation photos every epoch; 06 is counted with all its epochs; 07 = 4 "
          "optimizers x 2 folds of half the rows plus the refit on all rows (5 full-data "
          "runs).")
    cnn_steps = 3 * fit_cnn
    backbone_passes = epochs * train_steps * full_step
    print(f"  where our time goes: the student's CNN training steps in 01-03 "
          f"{cnn_steps / 60:.1f} min ({cnn_steps / total_ours:.0%}), the same both ways; "
          f"05's backbone passes on augmented photos {backbone_passes / 60:.1f} min "
          f"({backbone_passes / total_ours:.0%}), which no feature cache can skip.")
    print("\nsummary: " + json.dumps({k: round(v, 3) for k, v in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
