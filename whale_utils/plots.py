"""Figures of the series, each returned for the notebook to show: sample and augmented
photos, what ImageNet sees, learning curves against the baseline, the scores against
the yardsticks, 08's threshold curve and nearest photos."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np


def plot_examples(whales, n: int = 8, seed: int = 0):
    """A row of training photos (as the model sees them) with their Ids."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(whales.frame), size=min(n, len(whales.frame)), replace=False)
    fig, axes = plt.subplots(1, len(rows), figsize=(2 * len(rows), 2.4))
    for ax, row in zip(np.atleast_1d(axes), rows):
        ax.imshow(whales.images[row])
        ax.set_title(whales.frame["Id"].iloc[row], fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_imagenet_guesses(photos, guesses, titles=()):
    """Photos, each under its title, with an ImageNet classifier's likeliest classes
    (``backbones.top_classes``) written below it."""
    fig, axes = plt.subplots(1, len(photos), figsize=(3 * len(photos), 3.8))
    for ax, photo, guess, title in zip(np.atleast_1d(axes), photos, guesses,
                                       [*titles, *[""] * len(photos)]):
        ax.imshow(photo)
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.set_xlabel("\n".join(f"{name} {p:.0%}" for name, p in guess), fontsize=8)
    fig.tight_layout()
    return fig


def plot_history(history, title: str = "", baseline_accuracy: float | None = None):
    """Accuracy and loss per epoch, training against validation, like the student's;
    ``baseline_accuracy`` (the all-new_whale baseline's) is drawn as a line."""
    logs = history.history if hasattr(history, "history") else history
    epochs = np.arange(1, len(logs["loss"]) + 1)
    fig, (acc, loss) = plt.subplots(1, 2, figsize=(10, 3.5))
    for ax, key in [(acc, "accuracy"), (loss, "loss")]:
        ax.plot(epochs, logs[key], "o-", label="training")
        if f"val_{key}" in logs:
            ax.plot(epochs, logs[f"val_{key}"], "o-", label="validation")
        if key == "accuracy" and baseline_accuracy is not None:
            ax.axhline(baseline_accuracy, color="k", ls="--", lw=1, label="all-new_whale")
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_baseline_comparison(result: dict, title: str = ""):
    """Bars of accuracy, top-5 and MAP@5 for the model, the all-new_whale baseline and,
    when evaluated, the pixel nearest neighbour."""
    names = ["accuracy", "top5", "map5"]
    bars = [("model", "model"), ("baseline", "all-new_whale baseline"),
            ("pixel_neighbour", "pixel neighbour")]
    bars = [(key, label) for key, label in bars if key in result]
    x, width = np.arange(len(names)), 0.8 / len(bars)
    fig, ax = plt.subplots(figsize=(6, 3.2))
    for i, (key, label) in enumerate(bars):
        ax.bar(x + (i - (len(bars) - 1) / 2) * width, [result[key][k] for k in names], width,
               label=label)
    ax.axhline(result["ceiling"], color="k", ls="--", lw=1, label="ceiling (accuracy)")
    ax.set_xticks(x, ["accuracy", "top-5", "MAP@5"])
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title)
    fig.tight_layout()
    return fig


def plot_augmented(image, augmentation, n: int = 6):
    """One photo and ``n - 1`` augmented copies of it."""
    batch = np.repeat(image[None], n - 1, axis=0)
    copies = np.asarray(augmentation(batch, training=True)).clip(0, 255).astype("uint8")
    fig, axes = plt.subplots(1, n, figsize=(2 * n, 2.2))
    for ax, picture, title in zip(axes, [image, *copies], ["original"] + [""] * (n - 1)):
        ax.imshow(picture)
        ax.set_title(title, fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    return fig


def plot_threshold_curve(curve: dict, chosen: float):
    """MAP@5 of the held-out training rows against the `new_whale` threshold."""
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(list(curve), list(curve.values()), "-", label="held-out training rows")
    ax.axvline(chosen, color="k", ls="--", lw=1, label=f"chosen: {chosen:.2f}")
    ax.set_xlabel("new_whale threshold (cosine similarity)")
    ax.set_ylabel("MAP@5")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_nearest(whales, similarity, rows, k: int = 5):
    """Validation photos (left) and their ``k`` most similar training photos, each with
    its Id and similarity; a matching Id is marked."""
    train_ids = whales.frame["Id"].iloc[whales.train_idx].to_numpy()
    fig, axes = plt.subplots(len(rows), k + 1, figsize=(1.8 * (k + 1), 2.0 * len(rows)))
    for line, row in zip(np.atleast_2d(axes), rows):
        truth = whales.frame["Id"].iloc[whales.val_idx[row]]
        line[0].imshow(whales.x_val[row])
        line[0].set_title(f"query\n{truth}", fontsize=7)
        for ax, j in zip(line[1:], np.argsort(-similarity[row])[:k]):
            ax.imshow(whales.x_train[j])
            mark = " (same)" if train_ids[j] == truth else ""
            ax.set_title(f"{train_ids[j]}{mark}\n{similarity[row, j]:.2f}", fontsize=7)
        for ax in line:
            ax.axis("off")
    fig.tight_layout()
    return fig
