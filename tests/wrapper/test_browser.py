"""Swagger UI, served offline by the job, driven in headless Debian Chromium."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator

import pytest
from wrapper_helpers import sample_server

pytestmark = pytest.mark.browser

CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
)


@pytest.fixture
def browser() -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    profile = tempfile.mkdtemp(prefix="chromium-profile-")
    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver_path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    driver = webdriver.Chrome(service=Service(executable_path=driver_path), options=options)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


@pytest.mark.parametrize("prefix", ["", "/pub/fatman/python-class/latest"])
def test_swagger_ui_try_it_out_runs_perform(browser, prefix: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ready
    from selenium.webdriver.support.ui import WebDriverWait

    with sample_server("python-class") as server:
        browser.get(f"{server.client.base_url}{prefix}/docs")
        wait = WebDriverWait(browser, 30)
        operation = wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, "#operations-API-perform")))
        assert "/api/v1/perform" in operation.text
        operation.find_element(By.CSS_SELECTOR, ".opblock-summary").click()
        wait.until(ready.element_to_be_clickable((By.CSS_SELECTOR, ".try-out__btn"))).click()
        body = wait.until(ready.presence_of_element_located((By.CSS_SELECTOR, "textarea.body-param__text")))
        assert '"x": 20' in body.get_attribute("value") and '"y": 5' in body.get_attribute("value")
        schema_text = browser.find_element(By.CSS_SELECTOR, "#operations-API-perform").text
        assert "Return the product of two numbers." in schema_text
        browser.find_element(By.CSS_SELECTOR, ".execute").click()
        result = wait.until(
            ready.presence_of_element_located(
                (By.CSS_SELECTOR, ".live-responses-table .response-col_description pre")
            )
        )
        # Swagger UI pretty-prints the JSON number (as 100); the raw body it received is the job's `100.0`.
        assert result.text.strip() in ("100", "100.0")
        raw = browser.execute_script(
            "return window.ui.specSelectors.responseFor('/api/v1/perform', 'post').get('text')"
        )
        assert raw == "100.0"
        assert prefix + "/api/v1/perform" in browser.find_element(By.CSS_SELECTOR, ".request-url pre").text
