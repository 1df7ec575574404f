"""The rendered book: executed notebooks and the results report as a static site.

    python -m whale_utils.book outputs/default

writes ``outputs/default/html/``: ``index.html`` (the story, the results table and
chart, one link per notebook and its Colab link) and one page per notebook.
"""

from __future__ import annotations

import argparse
import html
import re
import shutil
import sys
from pathlib import Path

from whale_utils import registry, report


STORY = """
<p>A student project on the Kaggle <em>Humpback Whale Identification</em> competition
(2019) trained a series of models in turn on the first rows of <code>train.csv</code>
and compared them by validation accuracy. This book retells it, one notebook per step, and
scores every model the same honest way: on the same validation rows, by accuracy,
top-5 accuracy and MAP@5 (the competition's metric), next to the all-<code>new_whale</code>
baseline and the ceiling (the share of validation rows whose whale appears in training
at all).</p>
<p>The student's models reached validation accuracies of 0.357 to 0.390, where the
all-<code>new_whale</code> baseline scored 0.378 on their split: 38&nbsp;% of the photos
are <code>new_whale</code>. Read the table with that line in mind.</p>
<p>The last notebook leaves the student's road: it learns an embedding in which photos
of one whale lie close, finds a whale by its nearest photo, and treats
<code>new_whale</code> as a similarity threshold, as the competition's leaders did.</p>
"""

STYLE = """
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem;
       line-height: 1.5; color: #222; }
table { border-collapse: collapse; font-size: 0.85rem; }
th, td { border: 1px solid #ccc; padding: 0.2rem 0.4rem; text-align: right; }
td:nth-child(2), th:nth-child(2) { text-align: left; }
img.chart { max-width: 100%; }
li { margin: 0.3rem 0; }
"""


def render_notebook(path: Path, out: Path) -> Path:
    """One executed notebook as a standalone HTML page (figures embedded, no scripts).

    nbconvert's page fetches jQuery, require.js, MathJax and mermaid from CDNs, which the
    series never uses; offline, those requests can keep a page loading. They are dropped,
    and the Colab badge (an image on Colab's server) becomes a plain link.
    """
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="classic")
    body, _ = exporter.from_notebook_node(nbformat.read(path, as_version=4))
    body = re.sub(r"<script\b.*?</script>\s*", "", body, flags=re.S)
    body = re.sub(r"<img\b[^>]*colab-badge\.svg[^>]*>", "Open in Colab", body)
    page = out / f"{path.stem}.html"
    back = '<p style="margin:1rem"><a href="index.html">&larr; all notebooks</a></p>'
    page.write_text(body.replace("<body>", "<body>" + back, 1), encoding="utf-8")
    return page


def index_page(output_dir: Path, pages: list[Path], has_report: bool) -> str:
    """The index: story, results table and chart, and the notebook list."""
    parts = [f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>whale-notebooks: "
             f"{html.escape(output_dir.name)}</title><style>{STYLE}</style></head><body>",
             f"<h1>whale-notebooks <small>({html.escape(output_dir.name)} profile)</small></h1>",
             STORY]
    if has_report:
        records = report.load_metrics(output_dir)
        table = report.results_table(records)
        parts += ["<h2>Results</h2>", report.display_table(table).to_html(index=False, na_rep=""),
                  f"<p><strong>{html.escape(report.best_model_sentence(records))}</strong></p>",
                  "<img class='chart' src='results.png' alt='MAP@5 and accuracy per model "
                  "against the baseline and the ceiling'>"]
        random_backbone = sorted(r["notebook"][:2] for r in records
                                 if str(r["params"].get("BACKBONE_WEIGHTS", "")).startswith("none"))
        if random_backbone:
            parts.append(f"<p>Notebooks {', '.join(random_backbone)} ran ResNet50V2 with random "
                         "weights (no ImageNet weights on this machine): their results say "
                         "nothing about ImageNet features.</p>")
        steps = report.step_by_step(records)
        if steps:
            parts += ["<h2>Step by step</h2><p>MAP@5 difference of each notebook against the "
                      "one it builds on, on the same validation rows (paired bootstrap, 95&nbsp;% "
                      "interval):</p><ul>"] + [f"<li>{html.escape(s)}</li>" for s in steps] + ["</ul>"]
    parts.append("<h2>The notebooks</h2><ol>")
    for page in pages:
        colab = registry.colab_url(page.stem)
        title = registry.describe(page.stem)["title"] or page.stem
        parts.append(f"<li><a href='{page.name}'>{page.stem}</a>: {html.escape(title)} "
                     f"(<a href='{colab}'>open in Colab</a>)</li>")
    parts.append("</ol></body></html>")
    return "\n".join(parts)


def build_book(output_dir: str | Path) -> Path:
    """Render ``output_dir``'s executed notebooks and report into ``output_dir/html/``."""
    output_dir = Path(output_dir)
    executed = [output_dir / f"{nb}.ipynb" for nb in registry.notebooks()
                if (output_dir / f"{nb}.ipynb").exists()]
    if not executed:
        raise FileNotFoundError(f"no executed notebooks in {output_dir}: run `make run-all` first")
    out = output_dir / "html"
    out.mkdir(parents=True, exist_ok=True)
    pages = [render_notebook(path, out) for path in executed]
    has_report = (output_dir / "metrics").is_dir()
    if has_report:
        chart = report.build_report(output_dir) / "results.png"
        shutil.copy(chart, out / "results.png")
    (out / "index.html").write_text(index_page(output_dir, pages, has_report), encoding="utf-8")
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m whale_utils.book",
                                     description="Render a profile's notebooks as a site.")
    parser.add_argument("output_dir", help="a profile's outputs, e.g. outputs/default")
    args = parser.parse_args(argv)
    try:
        out = build_book(args.output_dir)
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(f"book written to {out}/index.html")
    return 0


if __name__ == "__main__":
    sys.exit(main())
