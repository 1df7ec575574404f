import pytest
from conftest import save_run

from whale_series import report, series


def test_report_writes_table_chart_intervals_and_steps(tmp_path):
    first, second, third = series.NOTEBOOKS[:3]
    save_run(tmp_path, first, 0.40, pixel=True)
    save_run(tmp_path, second, 0.60, compared_with=first)
    save_run(tmp_path, third, 0.605, compared_with=second)   # 3 rows of 600 differ from 02
    folder = report.build_report(tmp_path)
    text = (folder / "results.md").read_text()
    assert "Highest MAP@5: 03 CNN + dropout + data generation with" in text
    assert "clearly above the all-new_whale baseline" in text
    assert "against the next best (02" in text and "no clear difference from it" in text
    assert "3 of 3 models beat the baseline clearly" in text
    assert "The pixel nearest neighbour scores" in text and "models beat it clearly" in text
    steps = text.split("## Step by step")[1]
    assert "- 02 vs 01: MAP@5 +" in steps and "better than 01." in steps
    assert "- 03 vs 02: MAP@5 " in steps and "no clear difference from 02." in steps
    assert "MAP@5 vs baseline [95 % interval]" in text and "known-whale MAP@5" in text
    table = (folder / "results.csv").read_text().splitlines()
    assert len(table) == 4 and "map5_low" in table[0]
    assert (folder / "results.png").stat().st_size > 10_000


def test_steps_on_different_rows_are_not_compared(tmp_path):
    save_run(tmp_path, series.NOTEBOOKS[0], 0.4)
    save_run(tmp_path, series.NOTEBOOKS[1], 0.6, compared_with=series.NOTEBOOKS[0], n=500)
    assert report.step_by_step(report.load_metrics(tmp_path)) == [
        "02 vs 01: not on the same validation rows, not compared."]


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


def test_readme_block_is_replaced_from_the_report_and_nothing_else(tmp_path):
    out = tmp_path / "default"
    save_run(out, series.NOTEBOOKS[0], 0.40, pixel=True)
    save_run(out, series.NOTEBOOKS[1], 0.60, compared_with=series.NOTEBOOKS[0])
    readme = tmp_path / "README.md"
    before, after = "# Title\n\nIntro.\n\n", "\n\n## Next section\n"
    readme.write_text(before + report.README_START.format(profile="default")
                      + "\nold numbers\n" + report.README_END + after)
    report.update_readme(readme, out)
    text = readme.read_text()
    assert text.startswith(before) and text.endswith(after) and "old numbers" not in text
    records = report.load_metrics(out)
    assert f"| 02 CNN + dropout | {records[1]['evaluation']['model']['map5']:.3f} |" in text
    assert "| pixel-space nearest neighbour |" in text and "Highest MAP@5: 02" in text
    report.update_readme(readme, out)
    assert readme.read_text() == text            # idempotent


def test_readme_without_markers_is_left_alone(tmp_path):
    save_run(tmp_path, series.NOTEBOOKS[0], 0.40)
    readme = tmp_path / "README.md"
    readme.write_text("# no block here\n")
    with pytest.raises(ValueError, match="no results block"):
        report.update_readme(readme, tmp_path)
    assert readme.read_text() == "# no block here\n"


def test_backbone_label_names_backbone_size_and_weights():
    assert report.backbone_label({"BACKBONE": "efficientnet-lite0", "BACKBONE_SIZE": 96,
                                  "IMG_SIZE": 48, "BACKBONE_WEIGHTS": "imagenet-package"}) == \
        "efficientnet-lite0 96 px, imagenet-package"
    # records written before BACKBONE existed ran ResNet50V2 at the photos' own size
    assert report.backbone_label({"IMG_SIZE": 48, "BACKBONE_WEIGHTS": "none-offline"}) == \
        "resnet50v2 48 px, none-offline"
    assert report.backbone_label({"BACKBONE_WEIGHTS": "not used (CNN trunk)"}) == \
        "not used (CNN trunk)"
    assert report.backbone_label({"IMG_SIZE": 48}) is None
