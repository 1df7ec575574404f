"""The generated prose of the executed golden notebooks states only their own numbers."""

import json
from pathlib import Path

import nbformat
import pytest
from conftest import numbers_in, numbers_of

from whale_series import series

GOLDEN = Path(__file__).resolve().parent / "golden"


def generated_blocks(notebook) -> list[str]:
    """The narrator's Markdown outputs of an executed notebook (code listings and the
    exercises' checks, which tests/test_exercises.py checks, left out)."""
    return [text for cell in notebook.cells for output in cell.get("outputs", [])
            if (text := output.get("data", {}).get("text/markdown"))
            and not text.startswith(("```", "**Exercise "))]


@pytest.mark.parametrize("name", series.NOTEBOOKS)
def test_generated_block_numbers_are_the_metrics_json(name):
    notebook = nbformat.read(GOLDEN / f"{name}.ipynb", as_version=4)
    record = json.loads((GOLDEN / "metrics" / f"{name}.json").read_text())
    blocks = generated_blocks(notebook)
    assert any(block.startswith("### What this run shows") for block in blocks), \
        f"{name}: no generated 'What this run shows' block: run `make golden`"
    # and the notebook numbers the block names ("02 vs 01"): identifiers, not results
    allowed = numbers_of(record) | {name[:2] for name in (record["notebook"],
                                                          record["compared_with"]) if name}
    for block in blocks:
        stated = numbers_in(block)
        assert stated, block
        assert set(stated) <= allowed, \
            f"{name}: numbers {sorted(set(stated) - allowed)} are not in metrics/{name}.json"
