"""What a person does: start JupyterLab, open a notebook in the browser, run all its cells
from JupyterLab's own menu, and read what the page shows (headless Chromium)."""

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from whale_series import browser
from whale_utils.data import synthetic
from whale_utils.session import profile

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = "01_overfit_baseline"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")
SHOTS = ROOT / "outputs" / "lab-test"

pytestmark = pytest.mark.skipif(
    not (CHROMIUM and DRIVER), reason="Chromium or chromedriver not installed (apt-get install "
                                      "chromium chromium-driver); .ci/run installs them")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def with_values(notebook_path: Path, values: dict, out: Path) -> None:
    """The notebook with its parameters cell edited, as a person would edit it."""
    notebook = nbformat.read(notebook_path, as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    for name, value in values.items():
        cell.source, count = re.subn(rf"(?m)^{name} = .*$", f"{name} = {value!r}", cell.source)
        assert count == 1, name
    nbformat.write(notebook, out)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    """JupyterLab on a free loopback port, serving a folder with notebook 01 set to the
    smoke profile's values; yields (url, folder)."""
    folder = tmp_path_factory.mktemp("lab")
    smoke = profile.load("smoke")
    data_dir = synthetic.generate(folder / "data", **smoke["synthetic"])
    values = {name: smoke[name] for name in ("N_ROWS", "IMG_SIZE", "EPOCHS", "BATCH_SIZE")}
    values.update(DATA_DIR=str(data_dir), OUTPUT_DIR=str(folder / "outputs"))
    (folder / "notebooks").mkdir()
    with_values(ROOT / "notebooks" / f"{NOTEBOOK}.ipynb", values,
                folder / "notebooks" / f"{NOTEBOOK}.ipynb")
    port, token = free_port(), "whale-test"
    settings = folder / "jupyter"
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(settings / "config"),
           "JUPYTERLAB_SETTINGS_DIR": str(settings / "lab-settings"),
           "JUPYTERLAB_WORKSPACES_DIR": str(settings / "workspaces")}
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
         f"--ServerApp.port={port}", "--ServerApp.ip=127.0.0.1", f"--IdentityProvider.token={token}",
         f"--ServerApp.root_dir={folder / 'notebooks'}", "--ServerApp.port_retries=0",
         "--LabApp.news_url=", "--allow-root"],
        env=env, stdout=subprocess.DEVNULL, stderr=open(folder / "lab.log", "w"),
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2)
                break
            except OSError:
                assert server.poll() is None, (folder / "lab.log").read_text()[-2000:]
                time.sleep(0.5)
        yield f"{url}/lab/tree/{NOTEBOOK}.ipynb?token={token}", folder
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_run_all_cells_from_jupyterlab_menu(lab):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    url, folder = lab
    SHOTS.mkdir(parents=True, exist_ok=True)
    driver = browser.browser(1400, 1000)
    try:
        driver.get(url)
        wait = WebDriverWait(driver, 120)
        # The notebook is open and its kernel idle (the status bar names it).
        wait.until(lambda d: d.execute_script(
            "return document.querySelectorAll('.jp-Notebook .jp-Cell').length > 5"))
        wait.until(lambda d: "Idle" in d.find_element(By.CSS_SELECTOR, "body").text
                   or d.execute_script("return !!document.querySelector("
                                       "'.jp-Notebook-ExecutionIndicator[data-status=\"idle\"]')"))
        driver.save_screenshot(str(SHOTS / "1-opened.png"))
        # Run > Run All Cells, as a person clicks it.
        menu = next(item for item in driver.find_elements(By.CSS_SELECTOR, ".lm-MenuBar-item")
                    if item.text.strip() == "Run")
        menu.click()
        run_all = wait.until(lambda d: next(
            (item for item in d.find_elements(By.CSS_SELECTOR, ".lm-Menu-item")
             if item.text.strip().startswith("Run All Cells")), None))
        run_all.click()
        prompts = ("return [...document.querySelectorAll('.jp-CodeCell .jp-InputPrompt')]"
                   ".map(p => p.textContent.trim())")
        WebDriverWait(driver, 600, poll_frequency=2).until(lambda d: all(
            re.fullmatch(r"\[\d+\]:", p) for p in d.execute_script(prompts)))
        driver.save_screenshot(str(SHOTS / "2-ran.png"))
        page = driver.find_element(By.CSS_SELECTOR, ".jp-Notebook").text
        # What the person reads: the generated block, the metrics line, no traceback.
        assert "What this run shows" in page
        assert f"metrics written to {folder / 'outputs' / 'metrics' / NOTEBOOK}.json" in page
        assert "Traceback" not in page and "Error" not in re.sub(r"error_", "", page)
        shown = driver.find_elements(By.XPATH, "//*[contains(text(), 'What this run shows')]")
        driver.execute_script("arguments[0].scrollIntoView()", shown[-1])
        driver.save_screenshot(str(SHOTS / "3-what-this-run-shows.png"))
    finally:
        driver.quit()
    metrics = json.loads((folder / "outputs" / "metrics" / f"{NOTEBOOK}.json").read_text())
    assert metrics["notebook"] == NOTEBOOK and metrics["params"]["EPOCHS"] == 2
