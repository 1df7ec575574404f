"""Accuracy, top-5, MAP@5 (Kaggle's metric), the all-``new_whale`` baseline and the ceiling.

Each image has one true Id, so its average precision at 5 is ``1 / rank`` when the
true Id is among the five best guesses and 0 otherwise; MAP@5 is the mean over images.
The competition counted ``new_whale`` as a label like any other.
"""

from __future__ import annotations

import numpy as np

RESAMPLES = 2000     # bootstrap resamples of the validation rows
CONFIDENCE = 0.95    # width of every interval the series reports


def top_k(scores: np.ndarray, k: int = 5) -> np.ndarray:
    """Indices of the ``k`` highest scores per row, best first (ties: lower index first)."""
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def accuracy(y_true, scores) -> float:
    """Share of rows whose best guess is the true label."""
    return float(np.mean(top_k(scores, 1)[:, 0] == np.asarray(y_true)))


def top5_accuracy(y_true, scores) -> float:
    """Share of rows whose true label is among the five best guesses."""
    hits = top_k(scores, 5) == np.asarray(y_true)[:, None]
    return float(np.mean(hits.any(axis=1)))


def map_at_5(y_true, scores) -> float:
    """Kaggle's MAP@5 with one true label per row."""
    hits = top_k(scores, 5) == np.asarray(y_true)[:, None]
    precision = hits / np.arange(1, hits.shape[1] + 1)
    return float(np.mean(precision.sum(axis=1)))


def baseline_scores(y_train, n_rows: int, n_classes: int, new_whale: int) -> np.ndarray:
    """Scores of the all-``new_whale`` baseline: ``new_whale`` first, then the commonest
    training Ids."""
    counts = np.bincount(np.asarray(y_train), minlength=n_classes).astype(float)
    counts[new_whale] = counts.max() + 1
    return np.tile(counts, (n_rows, 1))


def pixel_neighbour_scores(x_train, y_train, x_val, new_whale: int,
                           n_classes: int) -> np.ndarray:
    """A model-free baseline: ``new_whale`` first, then the Ids of the nearest photos.

    Photos are compared as raw pixels (each flattened, centred on its mean, cosine
    similarity); an Id scores the similarity of its nearest training photo. A network
    that learned anything about whales should beat this. Without a known whale in
    training, every row ranks ``new_whale`` first and every other Id tied below it.
    """
    def unit_rows(x):
        x = np.asarray(x, dtype=np.float32)
        flat = x.reshape(len(x), int(np.prod(x.shape[1:])))    # no rows: still (0, pixels)
        flat -= flat.mean(axis=1, keepdims=True)
        return flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-6)

    y_train = np.asarray(y_train)
    known = y_train != new_whale
    similarity = unit_rows(x_val) @ unit_rows(x_train[known]).T
    scores = per_whale_max(similarity, y_train[known], n_classes, empty=-2.0)
    scores[:, new_whale] = 2.0
    return scores


def per_whale_max(similarity, labels, n_classes: int, empty: float = -np.inf) -> np.ndarray:
    """For each query (row of ``similarity``) and each Id: the highest similarity among
    the gallery columns of that Id (``labels``), ``empty`` for an Id with none."""
    similarity, labels = np.asarray(similarity), np.asarray(labels)
    best = np.full((len(similarity), n_classes), empty, dtype=np.float32)
    for label in np.unique(labels):
        best[:, label] = similarity[:, labels == label].max(axis=1)
    return best


def ceiling(y_train, y_val) -> float:
    """Share of validation rows whose label occurs in training: no classifier beats it."""
    return float(np.mean(np.isin(np.asarray(y_val), np.asarray(y_train))))


def score(y_true, scores) -> dict[str, float]:
    """Accuracy, top-5 accuracy and MAP@5 of one set of scores."""
    return {"accuracy": accuracy(y_true, scores), "top5": top5_accuracy(y_true, scores),
            "map5": map_at_5(y_true, scores)}


def per_row(y_true, scores) -> dict[str, np.ndarray]:
    """Each row's AP@5 (``1 / rank`` of the true Id, 0 past rank 5) and top-1 hit (0 or 1).

    Their means are ``map_at_5`` and ``accuracy``; kept per row, two models scored on the
    same rows can be compared row by row (``paired_bootstrap``).
    """
    hits = top_k(scores, 5) == np.asarray(y_true)[:, None]
    ap5 = (hits / np.arange(1, hits.shape[1] + 1)).sum(axis=1)
    return {"ap5": ap5, "hit": hits[:, 0].astype(float)}


def summarise(rows: dict, mask=None) -> dict[str, float]:
    """Accuracy, top-5 accuracy and MAP@5 from per-row results (``per_row``), the same
    numbers ``score`` gives (AP@5 > 0 exactly when the true Id is in the top five)."""
    pick = slice(None) if mask is None else np.asarray(mask)
    ap5, hit = rows["ap5"][pick], rows["hit"][pick]
    return {"accuracy": float(np.mean(hit)), "top5": float(np.mean(ap5 > 0)),
            "map5": float(np.mean(ap5))}


def paired_bootstrap(a, b, resamples: int = RESAMPLES, confidence: float = CONFIDENCE,
                     seed: int = 0) -> dict[str, float]:
    """Mean of ``a - b`` over paired rows and its bootstrap percentile interval.

    Rows are resampled with replacement, the same rows for both, ``resamples`` times
    (seeded, vectorised: well under a second on 1,000 rows). Returns ``diff``, ``low``
    and ``high``; an interval that contains 0 means no clear difference.
    """
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    if d.size == 0:
        raise ValueError("paired_bootstrap needs at least one row")
    rows = np.random.default_rng(seed).integers(0, d.size, size=(resamples, d.size))
    means = d[rows].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return {"diff": round(float(d.mean()), 6), "low": round(float(low), 6),
            "high": round(float(high), 6)}


def compare_rows(rows_a: dict, rows_b: dict, mask=None) -> dict[str, dict[str, float]]:
    """MAP@5 and accuracy differences of two per-row results, with their intervals."""
    pick = slice(None) if mask is None else np.asarray(mask)
    return {"map5": paired_bootstrap(rows_a["ap5"][pick], rows_b["ap5"][pick]),
            "accuracy": paired_bootstrap(rows_a["hit"][pick], rows_b["hit"][pick])}


def evaluate(model_scores, whales) -> dict:
    """The model's validation scores against the yardsticks, on the data set's validation
    rows: the all-``new_whale`` baseline, the pixel neighbour, the ceiling, known whales
    (see ``evaluate_labels``). ``whales`` is a ``data.WhaleData``."""
    neighbours = pixel_neighbour_scores(whales.x_train, whales.y_train, whales.x_val,
                                        whales.new_whale_label, whales.n_classes)
    return evaluate_labels(model_scores, whales.y_val, whales.y_train, whales.new_whale_label,
                           neighbours)


def evaluate_labels(scores, y_val, y_train, new_whale: int, neighbour_scores=None) -> dict:
    """Model and all-``new_whale`` baseline on the same rows, the ceiling, known whales;
    with ``neighbour_scores`` (see ``pixel_neighbour_scores``) the pixel baseline too.

    ``comparisons`` holds the model's paired differences (with 95 % intervals) against
    each baseline; ``per_row`` the per-row results (not part of the metrics JSON, saved
    beside it for the report's comparisons between notebooks).
    """
    scores, y_val = np.asarray(scores), np.asarray(y_val)
    baseline = baseline_scores(y_train, len(y_val), scores.shape[1], new_whale)
    known = y_val != new_whale
    rows = {"model": per_row(y_val, scores), "baseline": per_row(y_val, baseline)}
    if neighbour_scores is not None:
        rows["pixel_neighbour"] = per_row(y_val, np.asarray(neighbour_scores))
    result = {"rows": int(len(y_val)), "ceiling": ceiling(y_train, y_val),
              "known_rows": int(known.sum())}
    for name, r in rows.items():
        result[name] = summarise(r)
        if known.any():
            result[f"{name}_known"] = summarise(r, known)
    result["comparisons"] = {name: compare_rows(rows["model"], rows[name])
                             for name in rows if name != "model"}
    if known.any():
        result["comparisons"].update({f"{name}_known": compare_rows(rows["model"], rows[name], known)
                                      for name in rows if name != "model"})
    result["bootstrap"] = {"resamples": RESAMPLES, "confidence": CONFIDENCE}
    result["per_row"] = {"label": y_val, **{f"{name}_{key}": values for name, r in rows.items()
                                            for key, values in r.items()}}
    return result


def format_results(result: dict) -> str:
    """A small text table: model against baseline, all rows and known whales only."""
    lines = [f"{'':22}{'accuracy':>10}{'top-5':>10}{'MAP@5':>10}"]
    for title, key in [("model", "model"), ("all-new_whale", "baseline"),
                       ("pixel neighbour", "pixel_neighbour"),
                       ("model, known whales", "model_known"),
                       ("baseline, known whales", "baseline_known"),
                       ("pixel nb., known whales", "pixel_neighbour_known")]:
        if key in result:
            m = result[key]
            lines.append(f"{title:22}{m['accuracy']:10.3f}{m['top5']:10.3f}{m['map5']:10.3f}")
    lines.append(f"ceiling (Id seen in training): {result['ceiling']:.3f} "
                 f"of {result['rows']} validation rows ({result['known_rows']} of known whales)")
    return "\n".join(lines)


def last_epoch(history, key: str = "accuracy") -> float | None:
    """The last epoch's ``key`` of a Keras ``History`` (or its ``history`` dict), if logged."""
    logs = getattr(history, "history", history) or {}
    return float(logs[key][-1]) if logs.get(key) else None


def expand_scores(scores, classes, n_classes: int) -> np.ndarray:
    """Scores over a subset of ``classes`` placed in the columns of all ``n_classes``."""
    full = np.zeros((len(scores), n_classes), dtype=np.float32)
    full[:, np.asarray(classes)] = scores
    return full
