"""What every notebook does first and last, in one call each.

    run = session.start(globals())      # Setup: data ready, parameters checked, seeds set
    ...
    run.show(result, history)           # Evaluate: table, curves, what this run shows
    run.save_metrics(result, history, whales=whales, model=model)   # the metrics JSON

Behind these calls, in this package: ``params`` (the parameters cell's checks),
``profile`` (the named parameter sets, and the synthetic data a notebook writes when it is
missing), ``record`` (versions and the metrics JSON) and ``registry`` (the notebooks,
found from their files).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


def notebook_name(namespace: dict) -> str | None:
    """``NN_name`` of the running notebook (from the runner's ``NOTEBOOK``, Jupyter or VS
    Code: a copy never writes over another's metrics), or ``None`` when nothing says it."""
    injected = namespace.get("NOTEBOOK")
    if injected:
        return str(injected)
    for path in (os.environ.get("JPY_SESSION_NAME"), namespace.get("__vsc_ipynb_file__")):
        if path and str(path).endswith(".ipynb"):
            return Path(path).stem
    return None


@dataclass
class NotebookRun:
    """One notebook's run: its name, its checked parameters, and how it reports."""

    notebook: str | None
    params: dict
    compared: tuple = (None, None)   # the notebook it builds on, the comparison with it

    @property
    def title(self) -> str:
        """``NN · model`` for figures, from the notebook's front matter."""
        from whale_utils.session import registry

        if self.notebook is None:
            return ""
        number = self.notebook.split("_")[0]
        model = registry.describe(self.notebook)["model"]
        return f"{number} · {model}" if model else self.notebook

    def load_dataset(self, **options):
        """Notebook 01's ``data.load_dataset`` call with this notebook's parameters; prints
        the summary notebook 01 prints."""
        from whale_utils import data

        p = self.params
        whales = data.load_dataset(p["DATA_DIR"], n_rows=p["N_ROWS"], img_size=p["IMG_SIZE"],
                                   validation_split=p["VALIDATION_SPLIT"], split=p["SPLIT"],
                                   seed=p["SEED"], **options)
        print(whales.describe())
        return whales

    def show(self, result: dict, history=None, **about):
        """The Evaluate block: the scores table, the bar chart against the yardsticks, and
        the generated "What this run shows" (``history`` gives the training accuracy;
        ``about``: ``backbone_weights``, ``grid_scores``). The notebook draws its learning
        curves itself (``plots.plot_history``)."""
        import matplotlib.pyplot as plt
        from IPython.display import Markdown, display

        from whale_utils import metrics, narrate, plots
        from whale_utils.session import record

        print(metrics.format_results(result))
        figure = plots.plot_baseline_comparison(result, self.title)
        display(figure)
        plt.close(figure)
        if "backbone_weights" in about:
            about.setdefault("backbone_name", self.params.get("BACKBONE"))
        if self.notebook is not None and "per_row" in result:
            self.compared = record.compare_with_previous(self.params["OUTPUT_DIR"], self.notebook,
                                                         result["per_row"])
            about["previous"] = self.compared if self.compared[0] else None
        return Markdown(narrate.what_this_run_shows(
            result, train_accuracy=metrics.last_epoch(history, "accuracy"),
            notebook=self.notebook, **about))

    def save_metrics(self, result: dict, history=None, *, whales=None, model=None,
               backbone_weights: str | None = None, extra: dict | None = None,
               seconds: float | None = None) -> Path | None:
        """Write ``OUTPUT_DIR/metrics/<notebook>.json`` with the parameters the run used
        (the rows ``whales`` really read, the backbone weights it really had)."""
        from whale_utils import models
        from whale_utils.session import record

        if self.notebook is None:
            print("metrics not written: this kernel does not say which notebook it runs "
                  "(run it with `make run NB=..`, or in Jupyter)")
            return None
        used = {**self.params, **(whales.used_params() if whales is not None else {})}
        if backbone_weights is not None:
            used["BACKBONE_WEIGHTS"] = backbone_weights
        extra = {**({"parameters": models.count_params(model)} if model is not None else {}),
                 **({"vs_builds_on": self.compared[1]} if self.compared[1] else {}), **(extra or {})}
        path = record.save_metrics(self.params["OUTPUT_DIR"], self.notebook, result, history,
                                   params=used, extra=extra, seconds=seconds)
        print(f"metrics written to {path}")
        return path


def start(namespace: dict) -> NotebookRun:
    """Set a notebook up from its parameters (``globals()``): ``PROFILE``'s values in
    place of the cell's, the profile's synthetic data written if missing, ``DATA_DIR =
    "kaggle"`` replaced by the folder of the competition's photos, every parameter
    checked, versions printed, seeds set."""
    from whale_utils import training
    from whale_utils.session import params, record

    if namespace.get("PROFILE") is not None:
        from whale_utils.session import profile

        chosen = params.check({"PROFILE": namespace["PROFILE"]})["PROFILE"]
        profile.apply(namespace, chosen, notebook_name(namespace))
    if "DATA_DIR" in namespace:
        from whale_utils.session.profile import prepare_synthetic_data

        prepare_synthetic_data(namespace["DATA_DIR"])
    checked = params.check(namespace)
    if checked.get("DATA_DIR") != namespace.get("DATA_DIR"):   # "kaggle": found, verified
        namespace["DATA_DIR"] = checked["DATA_DIR"]
        print(f"DATA_DIR = {checked['DATA_DIR']!r}: the competition's photos, verified")
    name = notebook_name(namespace)
    record.print_versions()
    print(f"notebook: {name or 'unnamed (metrics will not be written)'}")
    if "SEED" in checked:
        training.set_seed(checked["SEED"])
    return NotebookRun(notebook=name, params=checked)
