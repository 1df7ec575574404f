import json

import pytest

from conftest import fake_record
from whale_utils import report, series


def test_report_writes_table_chart_and_names_the_best(tmp_path):
    (tmp_path / "metrics").mkdir()
    for notebook, map5 in zip(series.NOTEBOOKS[:3], [0.35, 0.47, 0.41]):
        record = fake_record(notebook, map5)
        if notebook.startswith("01"):
            record["evaluation"]["pixel_neighbour"] = {"accuracy": 0.38, "top5": 0.45,
                                                       "map5": 0.42}
        (tmp_path / "metrics" / f"{notebook}.json").write_text(json.dumps(record))
    folder = report.build_report(tmp_path)
    text = (folder / "results.md").read_text()
    assert "Best on MAP@5: 02 CNN + dropout with 0.470, +0.070 against the all-new_whale" in text
    assert "+0.060 against the next best (03)" in text
    assert "2 of 3 models beat the baseline" in text
    assert "The pixel nearest neighbour scores 0.420; 1 of 3 models beat it by more than 0.005." in text
    assert "known-whale MAP@5" in text
    assert (folder / "results.png").stat().st_size > 10_000
    assert len((folder / "results.csv").read_text().splitlines()) == 4


def test_report_without_metrics_says_what_to_run(tmp_path):
    with pytest.raises(FileNotFoundError, match="make run-all"):
        report.build_report(tmp_path)


def test_earlier_outputs_are_archived_not_overwritten(tmp_path):
    out = tmp_path / "default"
    (out / "metrics").mkdir(parents=True)
    (out / "01_overfit_baseline.ipynb").write_text("old run")
    (out / "metrics" / "01_overfit_baseline.json").write_text("{}")
    (out / "02_dropout.ipynb").write_text("kept")
    archive = series.archive_previous(out, ["01_overfit_baseline"])
    assert (archive / "01_overfit_baseline.ipynb").read_text() == "old run"
    assert (archive / "metrics" / "01_overfit_baseline.json").exists()
    assert not (out / "01_overfit_baseline.ipynb").exists()
    assert (out / "02_dropout.ipynb").read_text() == "kept"
    assert series.archive_previous(out, ["01_overfit_baseline"]) is None
