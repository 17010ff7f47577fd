"""End to end in a real browser: the page trains XOR through the server and draws it."""
import shutil
import threading

import pytest

from ember.playground.server import PlaygroundServer

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="no chromium on PATH (apt-get install chromium)")


@pytest.fixture
def page_url():
    server = PlaygroundServer("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.url
    server.shutdown()
    server.server_close()
    thread.join(timeout=10)


def test_page_trains_xor_and_draws(page_url, tmp_path):
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1300, "height": 1000})
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_url)
            page.wait_for_function("document.getElementById('train-loss').textContent !== '-'")

            page.select_option("#dataset", "xor")
            page.wait_for_function("state && state.config.dataset === 'xor'")
            page.select_option("#activation", "tanh")
            page.wait_for_function("state.config.activation === 'tanh'")
            page.click("#layers-plus")  # the default network has 2 hidden layers; a third, then drop it
            page.wait_for_function("state.config.hidden.length === 3")
            page.click("#layers-minus")
            page.wait_for_function("state.config.hidden.length === 2")
            page.click("#layer-controls .layer-control:nth-child(2) button:nth-of-type(2)")  # layer 2: 2 -> 3
            page.wait_for_function("state.config.hidden[1] === 3")
            page.click("#layer-controls .layer-control:nth-child(2) button:nth-of-type(2)")
            page.wait_for_function("JSON.stringify(state.config.hidden) === '[4,4]'")
            assert page.text_content("#epoch") == "0"

            page.click("#play")
            page.wait_for_function("parseFloat(document.getElementById('train-loss').textContent) < 0.1",
                                   timeout=60_000)
            page.click("#play")  # pause
            page.wait_for_function("state.playing === false")
            assert int(page.text_content("#epoch")) > 0
            assert page.text_content("#error") == ""

            page.click("#show-graph")
            page.wait_for_function("document.getElementById('graph').textContent !== 'drawing...'")
            if shutil.which("dot"):
                assert page.locator("#graph svg").count() == 1
            else:
                assert "cannot be drawn" in page.text_content("#graph")

            shot = tmp_path / "playground.png"
            page.screenshot(path=str(shot), full_page=True)
            assert errors == []
        finally:
            browser.close()
    data = shot.read_bytes()
    assert len(data) > 10_000 and data[:8] == b"\x89PNG\r\n\x1a\n"
