"""Headless Chromium for the tests and the README's pictures: open a page, wait for it,
take screenshots of the book.

    python -m whale_series.browser outputs/default docs

builds the default profile's book and redraws ``docs/book-*.png`` from it, with
``docs/screenshots.json`` saying which run and which parameters the pictures show (a
test holds them to the default profile, so they never show stale values).
"""

from __future__ import annotations

import datetime
import json
import shutil
import sys
from pathlib import Path

from whale_utils.session import registry

# (page, picture): the landing page, notebook 01, and a "Behind the series" page whose
# sidebar shows the book's navigation.
PICTURES = (("index.html", "book-index.png"), ("01_overfit_baseline.html", "book-notebook.png"),
            ("profiles.html", "book-behind.png"))


def browser(width: int = 1280, height: int = 1600):
    """Headless Chromium through Selenium, with no network of its own (Debian's
    ``chromium`` and ``chromium-driver``)."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", f"--window-size={width},{height}"):
        options.add_argument(flag)
    return webdriver.Chrome(service=Service(shutil.which("chromedriver") or "chromedriver"),
                            options=options)


def open_page(driver, page: Path | str, timeout: float = 60) -> None:
    """Load a page (a file or a URL) and wait until it and its images are complete."""
    from selenium.webdriver.support.ui import WebDriverWait

    driver.get(page.resolve().as_uri() if isinstance(page, Path) else page)
    WebDriverWait(driver, timeout).until(lambda d: d.execute_script(
        "return document.readyState === 'complete' && [...document.images].every(i => i.complete)"))


def book_screenshots(output_dir: Path, folder: Path, width: int = 1280,
                     height: int = 1000) -> list[Path]:
    """Build ``output_dir``'s book and save the ``PICTURES`` of it in ``folder``, with
    ``screenshots.json``: the run they show and notebook 01's parameters in it."""
    from whale_series import book

    site = book.build_book(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    driver = browser(width, height)
    try:
        shots = []
        for page, name in PICTURES:
            open_page(driver, site / page)
            driver.save_screenshot(str(folder / name))
            shots.append(folder / name)
    finally:
        driver.quit()
    first = registry.notebooks()[0]
    notebook = json.loads((output_dir / f"{first}.ipynb").read_text(encoding="utf-8"))
    (folder / "screenshots.json").write_text(json.dumps({
        "book": output_dir.name, "date": datetime.date.today().isoformat(),
        "pictures": [name for _, name in PICTURES],
        "parameters": {first: book.parameters_used(notebook)}}, indent=2) + "\n")
    return shots


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m whale_series.browser OUTPUT_DIR FOLDER "
              "(e.g. outputs/default docs)", file=sys.stderr)
        return 2
    output_dir, folder = Path(args[0]), Path(args[1])
    try:
        shots = book_screenshots(output_dir, folder)
    except (FileNotFoundError, RuntimeError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    for shot in shots:
        print(f"screenshot: {shot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
