"""The rendered book: built with Sphinx from the golden notebooks, opened in headless
Chromium (sidebar, search, launch and download links, images, nothing from outside)."""

import html
import re
import shutil
from pathlib import Path

import nbformat
import pytest

from whale_series import book, browser, links, report, series
from whale_utils.session import profile

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("book") / "smoke"
    (out / "metrics").mkdir(parents=True)
    for notebook in series.NOTEBOOKS:
        shutil.copy(ROOT / "tests" / "golden" / f"{notebook}.ipynb", out)
        for path in (ROOT / "tests" / "golden" / "metrics").glob(f"{notebook}.*"):
            shutil.copy(path, out / "metrics")
    return book.build_book(out)


def test_landing_page_has_the_story_results_and_every_notebook(site):
    index = html.unescape((site / "index.html").read_text())
    for notebook in series.NOTEBOOKS:
        assert f'href="{notebook}.html"' in index
    assert "Highest MAP@5: " in index and 'src="_images/results.png"' in index
    assert "Step by step" in index and "02 vs 01: MAP@5" in index
    for page in book.BEHIND:
        assert f'href="{page}.html"' in index, f"docs/{page}.md is not in the book"


def test_every_docs_page_is_behind_the_series_and_linked_from_the_readme():
    pages = {path.stem for path in (ROOT / "docs").glob("*.md")}
    assert pages == set(book.BEHIND)
    readme = (ROOT / "README.md").read_text()
    for page in pages:
        assert f"(docs/{page}.md)" in readme


def test_behind_pages_add_what_is_generated_and_link_into_the_repository(site):
    speed = (site.parent / "book" / "speed.md").read_text()
    assert "make bench" in speed and "No `make bench` output" in speed   # none in the test
    colab = (site.parent / "book" / "jupyter-and-colab.md").read_text()
    assert f"{links.repository_url()}/blob/{links.release_tag()}/CONTRIBUTING.md" in colab


def test_a_notebook_page_shows_its_parameters_once_with_the_profile_that_set_them(site):
    page = html.unescape(re.sub(r"<[^>]+>", "", (site / "01_overfit_baseline.html").read_text()))
    assert page.count("VALIDATION_SPLIT = ") == 1
    assert "# Parameters" not in page                       # papermill's injected cell
    assert "EPOCHS = 2  # smoke" in page and "SEED = 0\n" in page
    assert "set by the 'smoke' profile" in page


def test_screenshots_show_the_default_profiles_values():
    """docs/book-*.png come from `make screenshots`, which records what they show."""
    import json

    shown = json.loads((ROOT / "docs" / "screenshots.json").read_text())
    assert shown["book"] == "default"
    default = profile.load("default")
    for name, value in shown["parameters"]["01_overfit_baseline"].items():
        if name in default and not name.endswith("_DIR"):   # paths are written per run
            assert value == default[name], f"docs/ screenshots show {name} = {value}: " \
                                           "run `make run-all && make screenshots`"
    for picture in shown["pictures"]:
        assert (ROOT / "docs" / picture).is_file()


def test_each_notebook_page_launches_its_source_in_colab_and_offers_the_ipynb(site):
    for notebook in series.NOTEBOOKS:
        page = (site / f"{notebook}.html").read_text()
        assert links.colab_url(notebook) in page
        assert f'href="_sources/{notebook}.ipynb"' in page
        assert (site / "_sources" / f"{notebook}.ipynb").is_file()


def test_local_links_and_images_exist_and_nothing_comes_from_outside(site):
    for page in site.glob("*.html"):
        text = page.read_text()
        for target in re.findall(r"(?:href|src)=['\"]([^'\"#?]+)", text):
            if not re.match(r"(https?:|data:|mailto:|javascript:)", target):
                assert (page.parent / target).exists(), f"{page.name} links to missing {target}"
        # Links out are fine (Colab, the repository); loading anything from outside is not.
        assert not re.findall(r"<(?:script|img|link)\b[^>]*(?:src|href)=['\"](?:https?:)?//",
                              text), page.name


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{6,}", text.lower()))


def word_only_in_one_output() -> tuple[str, str]:
    """A word that occurs in one notebook's outputs and nowhere else in the book (no other
    word starts like it either, so that the search's stemming cannot match it elsewhere)."""
    outputs, everything_else = {}, set()
    for notebook in series.NOTEBOOKS:
        nb = nbformat.read(ROOT / "tests" / "golden" / f"{notebook}.ipynb", as_version=4)
        text = ""
        for cell in nb.cells:
            everything_else |= words(cell.source)
            for output in cell.get("outputs", []):
                text += output.get("text", "") + str(output.get("data", {}).get("text/plain", ""))
        outputs[notebook] = words(text)
    for notebook, found in outputs.items():
        others = everything_else.union(*(w for nb, w in outputs.items() if nb != notebook))
        prefixes = {w[:6] for w in others}
        for word in sorted(found):
            if word[:6] not in prefixes:
                return notebook, word
    raise AssertionError("no word occurs in one notebook's outputs only")


# Each word of a results-table header, on how many lines it is drawn: one, unless the
# header breaks it mid-word.
words_broken_across_lines = """
const broken = [];
for (const th of document.querySelectorAll('table.results th')) {
  const text = th.firstChild;
  if (!text || text.nodeType !== Node.TEXT_NODE) continue;
  const re = /\\S+/g; let m;
  while ((m = re.exec(text.data)) !== null) {
    const range = document.createRange();
    range.setStart(text, m.index); range.setEnd(text, m.index + m[0].length);
    const tops = new Set([...range.getClientRects()].map(r => Math.round(r.top)));
    if (tops.size > 1) broken.push(m[0]);
  }
}
return broken;
"""


@pytest.mark.skipif(not (CHROMIUM and DRIVER),
                    reason="Chromium or chromedriver not installed (apt-get install chromium "
                           "chromium-driver); .ci/run installs them")
def test_the_book_in_headless_chromium(site):
    from selenium.webdriver.support.ui import WebDriverWait

    driver = browser.browser()
    shots = ROOT / "outputs" / "book-test"
    shots.mkdir(parents=True, exist_ok=True)
    broken_images = ("return [...document.images].filter("
                     "i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))")
    outside = ("return performance.getEntriesByType('resource').map(e => e.name)"
               ".filter(n => !n.startsWith(arguments[0]))")

    def load(page):
        browser.open_page(driver, site / page)

    try:
        for page, shot in (("index.html", "index.png"), ("01_overfit_baseline.html", "01.png")):
            load(page)
            assert driver.execute_script("return document.images.length") > 0
            assert driver.execute_script(broken_images) == []
            assert driver.execute_script(outside, site.as_uri()) == []
            assert driver.save_screenshot(str(shots / shot))
        load("index.html")
        assert "whale-notebooks" in driver.title
        table, room = driver.execute_script(      # 1280 px wide: the results table fits
            "const t = document.querySelector('table.results');"
            "return [t.scrollWidth, t.parentElement.clientWidth]")
        assert table <= room + 1, f"the results table is {table} px wide in {room} px"
        assert driver.execute_script(words_broken_across_lines) == []
        headers = driver.execute_script(
            "return [...document.querySelectorAll('table.results th')].map(t => t.innerText)")
        assert [h.replace("\n", " ") for h in headers] == report.COMPARED_FIRST
        every = driver.execute_script(      # every column one click away
            "const d = document.querySelector('details.all-columns');"
            "const closed = !d.open; d.querySelector('summary').click();"
            "return [closed, d.open, d.querySelectorAll('th').length,"
            " d.querySelector('a').getAttribute('href')]")
        assert every[:2] == [True, True] and every[2] > len(headers)
        assert (site / every[3]).is_file()
        sidebar = driver.execute_script(
            "return [...document.querySelectorAll('.bd-sidebar-primary a')].map(a => a.href)")
        for notebook in series.NOTEBOOKS:
            assert (site / f"{notebook}.html").as_uri() in sidebar, notebook
            load(f"{notebook}.html")
            assert driver.execute_script("return document.querySelector('h1') !== null")
            assert driver.execute_script(outside, site.as_uri()) == []

        notebook, word = word_only_in_one_output()
        driver.get((site / "search.html").as_uri() + f"?q={word}")
        found = WebDriverWait(driver, 60).until(lambda d: d.execute_script(
            "const hits = [...document.querySelectorAll('#search-results ul.search li a')]"
            ".map(a => a.href); return hits.length ? hits : null"))
        pages = {Path(href.split("#")[0].split("?")[0]).stem for href in found}
        assert pages == {notebook}, (word, pages)
    finally:
        driver.quit()


def test_each_exercise_is_followed_by_its_solution_closed_by_default(site):
    for notebook in series.NOTEBOOKS:
        page = (site / f"{notebook}.html").read_text()
        assert page.count('<details class="solution">') == 3, notebook
        assert page.count("Exercise ") >= 3


@pytest.mark.skipif(not (CHROMIUM and DRIVER),
                    reason="Chromium or chromedriver not installed (apt-get install chromium "
                           "chromium-driver); .ci/run installs them")
def test_a_solution_opens_on_a_click_offline_in_headless_chromium(site):
    from selenium.webdriver.common.by import By

    driver = browser.browser()
    try:
        browser.open_page(driver, site / "02_dropout.html")
        toggles = driver.find_elements(By.CSS_SELECTOR, "details.solution")
        assert len(toggles) == 3
        toggle = toggles[2]                           # exercise 2.3: the callback
        code = toggle.find_element(By.CSS_SELECTOR, "pre")
        assert toggle.get_attribute("open") is None and not code.is_displayed()
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", toggle)
        toggle.find_element(By.TAG_NAME, "summary").click()
        assert toggle.get_attribute("open") is not None and code.is_displayed()
        assert "class GapLogger(keras.callbacks.Callback)" in code.text
        assert all(t.get_attribute("open") is None for t in toggles[:2])
        assert driver.execute_script(
            "return performance.getEntriesByType('resource').map(e => e.name)"
            ".filter(n => !n.startsWith(arguments[0]))", site.as_uri()) == []
    finally:
        driver.quit()
