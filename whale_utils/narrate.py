"""Sentences about a run's results, generated from its numbers, never typed by hand.

A notebook's prose says what is true whatever the numbers; what *this run* shows comes
from here. Each verdict is chosen by a named threshold below, or by a paired bootstrap
interval (``metrics.paired_bootstrap``): a difference whose interval contains 0 is "no
clear difference", never "better". Every number in a sentence is a number of the run's
metrics record, printed as it is stored there.
"""

from __future__ import annotations

from whale_utils.metrics import CONFIDENCE

OVERFIT_GAP = 0.15      # training minus validation accuracy from which a model overfits
CLOSE_FIT_GAP = 0.05    # below this gap training and validation accuracy agree
NEAR_CEILING = 0.9      # validation accuracy at this share of the ceiling or more is "near" it

# The student's own results on the real photos (first 10,000 rows of train.csv, Keras'
# last-rows split): validation accuracy per notebook against their all-new_whale
# accuracy, and the "validation accuracy" their grid search printed.
THEIR_BASELINE = 0.378
STUDENT = {
    "01_overfit_baseline": {"val_accuracy": 0.357, "baseline_accuracy": THEIR_BASELINE},
    "02_dropout": {"val_accuracy": 0.377, "baseline_accuracy": THEIR_BASELINE},
    "03_dropout_datagen": {"val_accuracy": 0.389, "baseline_accuracy": THEIR_BASELINE},
    "04_transfer_learning": {"val_accuracy": 0.359, "baseline_accuracy": THEIR_BASELINE},
    "05_transfer_datagen": {"val_accuracy": 0.390, "baseline_accuracy": THEIR_BASELINE},
    "06_transfer_early_stopping": {"val_accuracy": 0.371, "baseline_accuracy": THEIR_BASELINE},
    "07_grid_search": {"grid_score_low": 0.86, "grid_score_high": 0.95},
}
# How long the student's augmented runs took (ImageDataGenerator.flow_from_dataframe).
STUDENT_MINUTES = {"03_dropout_datagen": {"minutes": (20, 20), "epochs": 10},
                   "05_transfer_datagen": {"minutes": (20, 25), "epochs": 10}}


BASELINE = "the all-`new_whale` baseline"
PIXEL = "the pixel neighbour"
METRIC_NAMES = {"map5": "MAP@5", "accuracy": "accuracy"}


def verdict(interval: dict) -> str:
    """``"better"``, ``"worse"`` or ``"no clear difference"`` from a difference's interval."""
    if interval["low"] > 0:
        return "better"
    if interval["high"] < 0:
        return "worse"
    return "no clear difference"


def interval_text(interval: dict, confidence: float = CONFIDENCE) -> str:
    """``+0.137 (95 % interval +0.110 to +0.164)``."""
    return (f"{interval['diff']:+.3f} ({confidence:.0%} interval "
            f"{interval['low']:+.3f} to {interval['high']:+.3f})").replace("%", " %")


def versus(model: float, other: float, interval: dict, other_name: str,
           metric: str = "map5", subject: str = "the model") -> str:
    """One comparison on one metric: the verb follows the interval, not the raw gap."""
    how = {"better": f"**beats** {other_name}",
           "worse": f"**falls below** {other_name}",
           "no clear difference": f"shows **no clear difference** from {other_name}"}
    text = (f"{subject} {how[verdict(interval)]} on {METRIC_NAMES[metric]}: {model:.3f} "
            f"against {other:.3f}, {interval_text(interval)}.")
    return text[0].upper() + text[1:]


def overfitting(train_accuracy: float | None, val_accuracy: float) -> str:
    """Does the model overfit? Training against validation accuracy, by ``OVERFIT_GAP``."""
    if train_accuracy is None:
        return ""
    gap = round(train_accuracy - val_accuracy, 6)
    figures = f"training accuracy {train_accuracy:.3f}, validation accuracy {val_accuracy:.3f}"
    if gap >= OVERFIT_GAP:
        return f"The model **overfits**: {figures}; it memorised photos it cannot generalise from."
    if gap >= CLOSE_FIT_GAP:
        return f"The model overfits **somewhat**: {figures}."
    return f"The model **does not overfit**: {figures}."


def against_ceiling(result: dict) -> str:
    """Validation accuracy against the share of rows any classifier could get right."""
    accuracy, ceiling = result["model"]["accuracy"], result["ceiling"]
    where = ("**near the ceiling**: more photos per whale, not a better model, would help"
             if accuracy >= NEAR_CEILING * ceiling else
             "**well below the ceiling**: a better model could still gain")
    return (f"Validation accuracy {accuracy:.3f} against a ceiling of {ceiling:.3f} (the share "
            f"of validation rows whose Id occurs in training): {where}.")


def known_whales(result: dict) -> str:
    """The model on the validation rows of known whales, where identification happens."""
    if "model_known" not in result:
        return "No validation row belongs to a known whale: identification is not measured here."
    text = versus(result["model_known"]["map5"], result["baseline_known"]["map5"],
                  result["comparisons"]["baseline_known"]["map5"], BASELINE,
                  subject=f"on the {result['known_rows']} validation rows of known whales, the model")
    if "pixel_neighbour_known" in result:
        text += " " + versus(result["model_known"]["map5"],
                             result["pixel_neighbour_known"]["map5"],
                             result["comparisons"]["pixel_neighbour_known"]["map5"], PIXEL,
                             subject="there, the model")
    return text


def student(notebook: str | None, result: dict, grid_scores: dict | None = None) -> str:
    """The student's own numbers next to this run's, labelled as theirs."""
    theirs = STUDENT.get(notebook or "", {})
    here = result["model"]["accuracy"], result["baseline"]["accuracy"]
    if "val_accuracy" in theirs:
        return (f"The student's run (real photos, their split): validation accuracy "
                f"{theirs['val_accuracy']:.3f} against their all-`new_whale` "
                f"{theirs['baseline_accuracy']:.3f}. This run: {here[0]:.3f} against {here[1]:.3f}.")
    if "grid_score_low" in theirs and grid_scores:
        return (f"The student's grid search printed {theirs['grid_score_low']:.2f}-"
                f"{theirs['grid_score_high']:.2f} \"validation accuracy\". This run's best "
                f"optimizer: {grid_scores['train']:.3f} on its own training rows, "
                f"{grid_scores['cross_validated']:.3f} cross-validated, {here[0]:.3f} on the "
                f"held-out validation rows (all-`new_whale`: {here[1]:.3f}).")
    return ""


def backbone(backbone_weights: str | None, name: str | None = None,
             how: str = "frozen") -> str:
    """Which backbone ran (``how``: frozen, fine-tuned), and a warning when its weights
    were random."""
    if backbone_weights is None:
        return ""
    which = f"`{name}`" if name else "The backbone"
    if backbone_weights.startswith("none"):
        return (f"{which} ran with **random weights** (`{backbone_weights}`): these results "
                "say nothing about ImageNet features.")
    return f"{which} ran with ImageNet weights (`{backbone_weights}`), {how}."


def what_this_run_shows(result: dict, train_accuracy: float | None = None,
                        notebook: str | None = None, grid_scores: dict | None = None,
                        backbone_weights: str | None = None, backbone_name: str | None = None,
                        backbone_how: str = "frozen", previous: tuple | None = None) -> str:
    """The block a notebook shows after Evaluate: every statement about this run's result;
    ``previous``: the notebook it builds on and the paired comparison with its run on the
    same rows (None where it has none)."""
    comparisons = result["comparisons"]
    lines = [backbone(backbone_weights, backbone_name, backbone_how),
        overfitting(train_accuracy, result["model"]["accuracy"]),
        versus(result["model"]["map5"], result["baseline"]["map5"],
               comparisons["baseline"]["map5"], BASELINE),
        versus(result["model"]["accuracy"], result["baseline"]["accuracy"],
               comparisons["baseline"]["accuracy"], BASELINE, metric="accuracy"),
    ]
    if "pixel_neighbour" in result:
        lines.append(versus(result["model"]["map5"], result["pixel_neighbour"]["map5"],
                            comparisons["pixel_neighbour"]["map5"], PIXEL))
    if previous:
        name, interval = previous
        lines.append(step(notebook[:2], name[:2], interval["map5"]) if interval else
                     f"Notebook {name[:2]} has no run on these validation rows in `OUTPUT_DIR`: "
                     "run it first (`make run-all` does) to compare the two here.")
    lines += [against_ceiling(result), known_whales(result),
              student(notebook, result, grid_scores)]
    bullets = "\n".join(f"- {line}" for line in lines if line)
    boot = result["bootstrap"]
    return (f"### What this run shows\n\n{bullets}\n\nIntervals: paired bootstrap over the "
            f"{result['rows']} validation rows, {boot['resamples']} resamples.")


def headline(result: dict, train_accuracy: float | None = None) -> str:
    """The run's result in one or two sentences, for the Takeaways."""
    parts = [overfitting(train_accuracy, result["model"]["accuracy"]),
             versus(result["model"]["map5"], result["baseline"]["map5"],
                    result["comparisons"]["baseline"]["map5"], BASELINE)]
    return " ".join(p for p in parts if p)


def ablation(table, steps: list[str], chosen: dict[str, bool], rows: int) -> str:
    """What notebook 08's ablation found on the held-out training rows, from its table."""
    on = table[steps].eq("on")
    best = table[(on == [chosen[s] for s in steps]).all(axis=1)].iloc[0]
    base = table[~on.any(axis=1)].iloc[0]
    kept = [s for s in steps if chosen[s]]
    dropped = [s for s in steps if not chosen[s]]
    if not kept:
        return (f"On the {rows} held-out training rows, no step raises MAP@5 "
                f"({base['MAP@5']:.3f} with every step off): retrieval stays as it was.")
    interval = {"diff": best["vs all off"], "low": best["low"], "high": best["high"]}
    words = {"better": "a clear gain", "worse": "a clear loss",
             "no clear difference": "no clear difference"}[verdict(interval)]
    return (f"On the {rows} held-out training rows, the highest MAP@5 keeps "
            f"{', '.join(kept)}" + (f" and leaves out {', '.join(dropped)}" if dropped else "")
            + f": {best['MAP@5']:.3f} against {base['MAP@5']:.3f} with every step off, "
            f"{interval_text(interval)}: {words}. Validation below uses this setting.")


def step(name: str, previous: str, interval: dict, metric: str = "map5") -> str:
    """One step of the series against the step it builds on, for the report."""
    word = {"better": "better than", "worse": "worse than",
            "no clear difference": "no clear difference from"}[verdict(interval)]
    return f"{name} vs {previous}: {METRIC_NAMES[metric]} {interval_text(interval)}: {word} {previous}."
