import numpy as np
import pytest

from whale_utils import metrics


def one_hot_ranking(order, n_classes=8):
    """Scores that rank the given classes first, in that order."""
    scores = np.zeros(n_classes)
    for rank, label in enumerate(order):
        scores[label] = len(order) - rank
    return scores


def ap5_from_rank(y_true, scores):
    """Independent formulation: the true label's rank among all scores, then 1/rank."""
    result = []
    for label, row in zip(y_true, scores):
        rank = 1 + sum(1 for other, s in enumerate(row) if s > row[label]
                       or (s == row[label] and other < label))
        result.append(1 / rank if rank <= 5 else 0.0)
    return float(np.mean(result))


def test_map5_hand_worked():
    # true labels 0, 1, 2, 3: found at ranks 1, 2, 5 and not at all.
    scores = np.array([one_hot_ranking([0, 4, 5, 6, 7]), one_hot_ranking([4, 1, 5, 6, 7]),
                       one_hot_ranking([4, 5, 6, 7, 2]), one_hot_ranking([4, 5, 6, 7, 0])])
    y = np.array([0, 1, 2, 3])
    assert metrics.map_at_5(y, scores) == pytest.approx((1 + 1 / 2 + 1 / 5 + 0) / 4)
    assert metrics.accuracy(y, scores) == 0.25
    assert metrics.top5_accuracy(y, scores) == 0.75


def test_map5_matches_rank_formulation_on_random_scores():
    rng = np.random.default_rng(0)
    scores = rng.random((300, 12))
    scores[::7, 3] = scores[::7, 4]  # some ties
    y = rng.integers(0, 12, 300)
    assert metrics.map_at_5(y, scores) == pytest.approx(ap5_from_rank(y, scores))


def test_majority_baseline_ranks_new_whale_then_commonest():
    y_train = np.array([2, 2, 2, 1, 1, 0, 3, 3, 3, 3])  # new_whale = 0, the rarest
    scores = metrics.baseline_scores(y_train, 2, 5, new_whale=0)
    assert metrics.top_k(scores, 5)[0].tolist() == [0, 3, 2, 1, 4]


def test_ceiling_is_share_of_validation_labels_seen_in_training():
    assert metrics.ceiling([1, 2, 3], [1, 1, 4, 5]) == 0.5


def test_evaluate_reports_model_baseline_ceiling_and_known_whales():
    y_train = np.array([0, 0, 0, 1, 2])
    y_val = np.array([0, 1, 2, 3])
    perfect = np.eye(4)[y_val]
    result = metrics.evaluate_labels(perfect, y_val, y_train, new_whale=0)
    assert result["model"]["accuracy"] == 1.0
    assert result["baseline"]["accuracy"] == 0.25
    assert result["ceiling"] == 0.75
    assert result["known_rows"] == 3
    assert result["model_known"]["map5"] == 1.0
    expected = 1 - (1 + 1 / 2 + 1 / 3 + 1 / 4) / 4
    assert result["comparisons"]["baseline"]["map5"]["diff"] == pytest.approx(expected, abs=1e-6)
    assert result["per_row"]["model_ap5"].tolist() == [1, 1, 1, 1]
    assert result["per_row"]["label"].tolist() == [0, 1, 2, 3]
    worse = metrics.evaluate_labels(np.eye(4)[[3, 3, 3, 0]], y_val, y_train, new_whale=0)
    assert worse["comparisons"]["baseline"]["accuracy"]["diff"] == -0.25


def test_per_row_means_are_map5_and_accuracy():
    rng = np.random.default_rng(1)
    scores, y = rng.random((200, 9)), rng.integers(0, 9, 200)
    rows = metrics.per_row(y, scores)
    assert rows["ap5"].mean() == pytest.approx(metrics.map_at_5(y, scores))
    assert rows["hit"].mean() == pytest.approx(metrics.accuracy(y, scores))


def test_bootstrap_of_a_model_against_itself_is_zero():
    ap5 = np.random.default_rng(2).choice([0, 0.2, 0.25, 1 / 3, 0.5, 1], 900)
    assert metrics.paired_bootstrap(ap5, ap5) == {"diff": 0.0, "low": 0.0, "high": 0.0}


def test_bootstrap_interval_excludes_zero_for_clearly_different_scores():
    rng = np.random.default_rng(3)
    better = (rng.random(1000) < 0.6).astype(float)
    worse = (rng.random(1000) < 0.4).astype(float)
    interval = metrics.paired_bootstrap(better, worse)
    assert 0 < interval["low"] < interval["diff"] < interval["high"]
    assert interval["diff"] == pytest.approx(better.mean() - worse.mean())
    reverse = metrics.paired_bootstrap(worse, better)
    assert reverse["high"] < 0


def test_bootstrap_interval_contains_zero_for_a_small_difference():
    rng = np.random.default_rng(4)
    a = (rng.random(300) < 0.5).astype(float)
    b = a.copy()
    b[:3] = 1 - b[:3]          # three rows of 300 differ
    interval = metrics.paired_bootstrap(a, b)
    assert interval["low"] <= 0 <= interval["high"]


def test_bootstrap_is_seeded():
    rng = np.random.default_rng(5)
    a, b = rng.random(500), rng.random(500)
    assert metrics.paired_bootstrap(a, b) == metrics.paired_bootstrap(a, b)


def test_expand_scores_places_columns():
    full = metrics.expand_scores(np.array([[0.2, 0.8]]), [1, 3], 5)
    assert full.tolist() == [[0, pytest.approx(0.2), 0, pytest.approx(0.8), 0]]


def test_pixel_neighbour_ranks_new_whale_then_nearest_photos():
    rng = np.random.default_rng(0)
    x_train = rng.integers(0, 256, (6, 8, 8, 3)).astype(np.uint8)
    y_train = np.array([0, 1, 2, 2, 3, 0])                 # 0 is new_whale
    x_val = np.stack([x_train[3] // 2 + 20, x_train[4]])   # darker copy of whale 2; whale 3
    scores = metrics.pixel_neighbour_scores(x_train, y_train, x_val, new_whale=0, n_classes=5)
    ranks = metrics.top_k(scores, 5)
    assert ranks[:, 0].tolist() == [0, 0]                  # new_whale first, like the baseline
    assert ranks[:, 1].tolist() == [2, 3]                  # then the nearest photo's whale
    assert scores[0, 4] < scores[0, 1]                     # Id without photos comes last
    result = metrics.evaluate_labels(scores, np.array([2, 3]), y_train, 0, neighbour_scores=scores)
    assert result["pixel_neighbour"]["map5"] == pytest.approx(0.5)
    assert "pixel neighbour" in metrics.format_results(result)


@pytest.mark.parametrize("y_train, ranked, map5", [
    ([0, 0, 0, 0], [0], (1 + 0.25 + 0.25) / 3),    # no known whale: Id 3 ranks 4th (ties by index)
    ([0, 3, 0, 0], [0, 3], (1 + 0.5 + 0.5) / 3)])  # a single one: it ranks 2nd
def test_pixel_neighbour_with_no_or_one_known_whale_in_training(y_train, ranked, map5):
    rng = np.random.default_rng(1)
    x_train = rng.integers(0, 256, (4, 8, 8, 3)).astype(np.uint8)
    x_val = x_train[:3]
    scores = metrics.pixel_neighbour_scores(x_train, np.array(y_train), x_val,
                                            new_whale=0, n_classes=5)
    assert scores.shape == (3, 5)
    assert (metrics.top_k(scores, 5)[:, :len(ranked)] == ranked).all()
    others = [c for c in range(5) if c not in ranked]
    assert (scores[:, others] < scores[:, ranked].min(axis=1, keepdims=True)).all()
    result = metrics.evaluate_labels(scores, np.array([0, 3, 3]), np.array(y_train), 0,
                                     neighbour_scores=scores)
    assert result["pixel_neighbour"]["accuracy"] == pytest.approx(1 / 3)
    assert result["pixel_neighbour"]["map5"] == pytest.approx(map5)


def test_summaries_from_rows_equal_the_direct_scores():
    rng = np.random.default_rng(6)
    scores, y = rng.random((300, 11)), rng.integers(0, 11, 300)
    mask = y % 3 == 0
    assert metrics.summarise(metrics.per_row(y, scores)) == metrics.score(y, scores)
    assert metrics.summarise(metrics.per_row(y, scores), mask) == metrics.score(y[mask], scores[mask])


def test_evaluate_a_data_set_whose_training_rows_are_all_new_whale():
    """The notebooks' call: a split with no known whale in training still scores."""
    import pandas as pd

    from whale_utils import data

    ids = ["new_whale"] * 6 + ["w_a", "w_b"]
    frame = pd.DataFrame({"Image": [f"{i}.jpg" for i in range(8)], "Id": ids})
    labels, encoder = data.encode_labels(frame["Id"])
    images = np.random.default_rng(2).integers(0, 256, (8, 8, 8, 3)).astype(np.uint8)
    whales = data.WhaleData(frame.assign(label=labels), images, encoder,
                            train_idx=np.arange(5), val_idx=np.arange(5, 8))
    scores = np.eye(whales.n_classes)[whales.y_val]
    result = metrics.evaluate(scores, whales)
    assert result["pixel_neighbour"]["accuracy"] == pytest.approx(1 / 3)   # the new_whale row
    assert result["ceiling"] == pytest.approx(1 / 3)
