"""The rendered book: built from the golden notebooks, opened in headless Chromium."""

import re
import shutil
from pathlib import Path

import pytest

from whale_utils import book, series

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


def test_index_lists_every_notebook_with_colab_link(site):
    index = (site / "index.html").read_text()
    for notebook in series.NOTEBOOKS:
        assert f"href='{notebook}.html'" in index
        assert f"notebooks/{notebook}.ipynb" in index
    assert "Highest MAP@5: " in index and "results.png" in index
    assert "Step by step" in index and "02 vs 01: MAP@5" in index


def test_local_links_and_images_exist(site):
    for page in site.glob("*.html"):
        for target in re.findall(r"(?:href|src)=['\"]([^'\"#]+)['\"]", page.read_text()):
            if not re.match(r"(https?:|data:|mailto:)", target):
                assert (site / target).exists(), f"{page.name} links to missing {target}"


def test_notebook_page_embeds_its_figures(site):
    page = (site / "01_overfit_baseline.html").read_text()
    assert page.count("data:image/png;base64") >= 3
    assert "baseline_cnn" in page
    assert "<script" not in page            # nothing to fetch: the page reads offline


@pytest.mark.skipif(not (CHROMIUM and DRIVER),
                    reason="Chromium or chromedriver not installed (apt-get install chromium "
                           "chromium-driver); .ci/run installs them")
def test_pages_load_in_headless_chromium(site):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--window-size=1200,1600"):
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    broken_images = ("return [...document.images].filter("
                     "i => !i.complete || i.naturalWidth === 0).map(i => i.src.slice(0, 80))")
    try:
        for page in ("index.html", "01_overfit_baseline.html"):
            driver.get((site / page).as_uri())
            # get() can return while large inline images are still decoding: wait for them.
            WebDriverWait(driver, 60).until(
                lambda d: d.execute_script("return document.readyState") == "complete")
            assert driver.execute_script("return document.images.length") > 0
            assert driver.execute_script(broken_images) == []
        driver.get((site / "index.html").as_uri())
        assert "whale-notebooks" in driver.title
        shots = ROOT / "outputs" / "book-test"
        shots.mkdir(parents=True, exist_ok=True)
        assert driver.save_screenshot(str(shots / "index.png"))
    finally:
        driver.quit()
