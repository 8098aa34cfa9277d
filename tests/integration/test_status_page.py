"""
The admin port's live status page in a real browser (Debian's headless
Chromium driven by Selenium): it draws its charts with the Chart.js the
port serves itself, loads nothing from elsewhere, and follows the server
without being reloaded.
"""

import os
import shutil

import pytest

from conftest import make_message, wait_until

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


@pytest.fixture
def browser():
    assert os.path.exists(CHROMEDRIVER), \
        "chromedriver (Debian's chromium-driver) is needed"
    opts = webdriver.ChromeOptions()
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                "--disable-dev-shm-usage", "--window-size=1280,1400",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-default-apps",
                "--disable-sync"):
        opts.add_argument(arg)
    service = Service(executable_path=CHROMEDRIVER)
    driver = webdriver.Chrome(service=service, options=opts)
    driver.set_page_load_timeout(30)
    yield driver
    driver.quit()


def text(driver, element_id):
    return driver.find_element("id", element_id).text


def test_page_follows_the_server(daemon, browser, tmp_path):
    origin = "http://127.0.0.1:%d" % daemon.admin_port
    browser.get(origin + "/")
    assert wait_until(lambda: text(browser, "t-deliveries") == "0", 10), \
        browser.page_source[:2000]
    # three charts, drawn by the Chart.js the daemon served
    assert browser.execute_script(
        "return typeof Chart !== 'undefined' && "
        "Object.keys(Chart.instances).length") == 3
    # a mark that a reload would wipe out
    browser.execute_script("window.mailbellMark = 42;")

    daemon.deliver([make_message("seen %d" % i) for i in range(3)])
    assert wait_until(lambda: text(browser, "t-deliveries") == "3", 10)
    assert wait_until(lambda: browser.execute_script(
        "const c = Object.values(Chart.instances)[0];"
        "return c.data.datasets[0].data.reduce((a, b) => a + b, 0);") == 3,
        10)
    assert browser.execute_script("return window.mailbellMark") == 42
    assert "Version" in text(browser, "about")
    assert "lmtp" in text(browser, "ports")
    assert browser.find_element("id", "problem").is_displayed() is False

    # nothing came from anywhere but the admin port
    urls = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".map(e => e.name)")
    assert urls and all(u.startswith(origin + "/") for u in urls), urls
    shot = os.environ.get("MAILBELL_SCREENSHOT",
                          str(tmp_path / "status-page.png"))
    assert browser.save_screenshot(shot)
    assert os.path.getsize(shot) > 10000


def test_page_asks_for_the_token(daemon_factory, browser, tmp_path):
    token = "page-token-0123456789abcdefgh"
    path = tmp_path / "admin.token"
    path.write_text(token + "\n")
    path.chmod(0o600)
    d = daemon_factory(admin__token_file=str(path))
    origin = "http://127.0.0.1:%d" % d.admin_port
    browser.get(origin + "/")
    assert wait_until(lambda: "token" in text(browser, "problem"), 10)
    browser.get(origin + "/#token=" + token)
    browser.refresh()
    assert wait_until(lambda: text(browser, "t-deliveries") == "0", 10)
    assert not browser.find_element("id", "problem").is_displayed()
