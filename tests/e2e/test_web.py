"""The live web view in a real headless Chromium (Debian's, driven by Playwright; never
downloaded), against the real coach in text mode at high speed."""

from __future__ import annotations

import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from voicecoach.store.history import Store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOT = Path(os.environ.get("VOICECOACH_WEB_SCREENSHOT", "/tmp/voicecoach-web-view.png"))

pytestmark = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium (scripts/setup.sh)")

# Every text the page's step, detail and countdown showed, recorded by the page itself as it changes.
RECORDER = """
window.__seen = [];
document.addEventListener("DOMContentLoaded", () => {
  const note = () => window.__seen.push([document.getElementById("step").textContent,
                                         document.getElementById("detail").textContent,
                                         document.getElementById("countdown").textContent]);
  new MutationObserver(note).observe(document.body, {subtree: true, childList: true, characterData: true});
});
"""


class Coach:
    """``voicecoach run ROUTINE --text --view web`` as a subprocess, answers typed on its stdin."""

    def __init__(self, history: Path, routine: str, speed: float):
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "voicecoach", "run", routine, "--text", "--view", "web", "--web-port", "0",
             "--speed", str(speed), "--history", str(history)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.err: queue.Queue[str] = queue.Queue()
        self.out: list[str] = []
        threading.Thread(target=lambda: [self.err.put(line) for line in self.proc.stderr], daemon=True).start()
        threading.Thread(target=lambda: [self.out.append(line) for line in self.proc.stdout], daemon=True).start()
        self.url = self._address()

    def _address(self) -> str:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                line = self.err.get(timeout=0.5)
            except queue.Empty:
                continue
            found = re.search(r"\[web view: (http://127\.0\.0\.1:\d+/)", line)
            if found:
                return found.group(1)
        self.close()
        pytest.fail("the coach did not print the web view's address")

    def type(self, *lines: str) -> None:
        self.proc.stdin.write("".join(f"{line}\n" for line in lines))
        self.proc.stdin.flush()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="module")
def history(tmp_path_factory):
    path = tmp_path_factory.mktemp("web") / "history.sqlite3"
    store = Store(path)
    store.set_fact("screen_passed", True)  # the safety screen has its own tests
    store.close()
    return path


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def wait_for(page, expression: str, timeout: int) -> None:
    """Poll ``expression`` in the page until true. (Playwright's wait_for_function evaluates a
    string, which the page's strict Content-Security-Policy rightly forbids; page.evaluate
    goes through the debugger protocol instead.) ``timeout`` in ms, a give-up bound only."""
    deadline = time.monotonic() + timeout / 1000
    while not page.evaluate(f"() => Boolean({expression})"):
        if time.monotonic() > deadline:
            pytest.fail(f"the page never showed: {expression}")
        page.wait_for_timeout(50)


def open_page(browser, url: str, requests: list[str]):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.on("request", lambda r: requests.append(r.url))
    page.violations = []  # the page must work under its own CSP: nothing it needs is refused
    page.on("console", lambda m: page.violations.append(m.text) if "Content Security Policy" in m.text else None)
    page.add_init_script(RECORDER)
    page.goto(url)
    return page


def test_the_page_follows_a_whole_routine(browser, history):
    coach = Coach(history, "hip-stretches", speed=40)
    requests: list[str] = []
    try:
        page = open_page(browser, coach.url, requests)
        wait_for(page, "document.getElementById('step').textContent === 'check in'", timeout=15000)
        coach.type(*["skip"] * 8)  # the check-ins before and after
        coach.proc.stdin.close()
        assert coach.proc.wait(timeout=90) == 0, "".join(coach.out[-5:])
        wait_for(page, "document.getElementById('countdown').textContent === 'FINISHED'", timeout=10000)
        seen = page.evaluate("window.__seen")
    finally:
        coach.close()
    shown = {(step, detail) for step, detail, _ in seen}
    for step in ("Knee to opposite shoulder", "Figure-4 stretch"):
        for side in ("LEFT", "RIGHT"):
            for rep in (1, 2, 3):
                assert (step, f"{side} SIDE · {rep} OF 3") in shown, (step, side, rep, sorted(shown))
    countdowns = [c for _, _, c in seen if re.fullmatch(r"\d+", c)]
    assert len(set(countdowns)) >= 5, "the countdown should tick on the page"
    assert all(u.startswith(coach.url) for u in requests), "the page must need nothing beyond this machine"
    assert not page.violations, page.violations


def test_the_countdown_is_large_and_the_picture_and_chart_show(browser, history):
    coach = Coach(history, "hip-stretches", speed=1)
    requests: list[str] = []
    try:
        page = open_page(browser, coach.url, requests)
        wait_for(page, "document.getElementById('step').textContent === 'check in'", timeout=15000)
        coach.type("skip", "skip")
        wait_for(page, r"/^\d+$/.test(document.getElementById('countdown').textContent)", timeout=30000)
        page.wait_for_selector("#picture:not(.hidden) img", timeout=10000)  # an image, never markup
        assert page.eval_on_selector("#picture img", "img => img.naturalWidth") > 0
        page.wait_for_timeout(600)
        box = page.locator("#countdown").bounding_box()
        font_px = float(page.eval_on_selector("#countdown", "e => getComputedStyle(e).fontSize")[:-2])
        picture = page.locator("#picture").bounding_box()
        page.screenshot(path=str(SCREENSHOT))
        assert font_px >= 200 and box["height"] >= 0.25 * 800, (font_px, box)  # a quarter of the screen
        assert picture["width"] >= 250, picture
        chart = browser.new_page()
        chart.goto(coach.url + "history")
        chart.wait_for_load_state("networkidle")
        assert not page.violations, page.violations
        assert chart.eval_on_selector("#chart", "img => img.naturalWidth") > 500  # the finished session's chart
    finally:
        coach.close()
    assert all(u.startswith(coach.url) for u in requests)
