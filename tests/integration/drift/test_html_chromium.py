"""The HTML report renders in headless Chromium (Debian's ``chromium`` package).

Chromium is driven over the DevTools protocol on a pipe (``--remote-debugging-pipe``, no port): that
tells console errors from other messages and lists every request the page makes. Outside hosts cannot
be reached: names resolve to nothing, and http(s) requests are blocked before they leave.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import json
import os
import select
import shutil
import struct
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from mlpy.drift import check

pytestmark = [pytest.mark.integration, pytest.mark.slow]

FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
    "--no-proxy-server", "--host-resolver-rules=MAP * ~NOTFOUND", "--remote-debugging-pipe",
]  # fmt: skip
# The test's report is about 5 KB: 2 KB of page and style sheet, 2 KB for the numeric column's chart and
# 1 KB for the categorical one. Twice that leaves room to grow; an element per bar, an embedded font or
# image would break it. A 100-column report is about 220 KB, fine for an artifact or an e-mail.
SIZE_BUDGET = 12_000
# Every chart label's box as laid out, with its chart's viewBox size.
LABEL_BOXES = """JSON.stringify([...document.querySelectorAll("svg")].map(svg => ({
  width: svg.viewBox.baseVal.width, height: svg.viewBox.baseVal.height,
  labels: [...svg.querySelectorAll("text")].map(t => {
    const b = t.getBBox(); return {text: t.textContent, left: b.x, right: b.x + b.width, top: b.y,
    bottom: b.y + b.height};
  })})))"""


class Chromium:
    """One headless Chromium and a DevTools session on one page; events are kept as they arrive."""

    def __init__(self, browser: str, profile: Path) -> None:
        commands_r, self._commands = os.pipe()
        self._events, events_w = os.pipe()

        def pipes_as_3_and_4() -> None:  # Chromium reads commands on fd 3 and writes on fd 4
            out = os.dup(events_w) if events_w == 3 else events_w
            os.dup2(commands_r, 3)
            os.dup2(out, 4)

        self.process = subprocess.Popen(
            [browser, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=pipes_as_3_and_4,
            pass_fds=(3, 4),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        os.close(commands_r)
        os.close(events_w)
        self._buffer, self._next_id = b"", 0
        self.events: list[dict[str, Any]] = []
        self._session: str | None = None
        try:
            target = self.send("Target.createTarget", url="about:blank")["targetId"]
            self._session = self.send("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
            for domain in ("Page", "Runtime", "Log", "Network"):
                self.send(f"{domain}.enable")
            self.send("Network.setBlockedURLs", urls=["http://*", "https://*", "ws://*", "wss://*"])
            size = {"width": 1200, "height": 900, "deviceScaleFactor": 1, "mobile": False}
            self.send("Emulation.setDeviceMetricsOverride", **size)
        except BaseException:
            self.close()  # not left running when the session cannot start
            raise

    def send(self, method: str, **params: Any) -> Any:
        self._next_id += 1
        message: dict[str, Any] = {"id": self._next_id, "method": method, "params": params}
        if self._session:
            message["sessionId"] = self._session
        os.write(self._commands, json.dumps(message).encode() + b"\0")
        while True:
            reply = self._read()
            if reply.get("id") == self._next_id:
                assert "error" not in reply, reply
                return reply["result"]
            self.events.append(reply)

    def load(self, url: str) -> None:
        assert "errorText" not in self.send("Page.navigate", url=url)
        while not any(event.get("method") == "Page.loadEventFired" for event in self.events):
            self.events.append(self._read())

    def errors(self) -> list[Any]:
        """Console errors, uncaught exceptions and error log entries (a failed load is one)."""
        found = []
        for event in self.events:
            method, params = event.get("method"), event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in {"error", "assert"}:
                found.append(params["args"])
            elif method == "Runtime.exceptionThrown":
                found.append(params["exceptionDetails"])
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(params["entry"])
        return found

    def requests(self) -> list[str]:
        return [
            e["params"]["request"]["url"]
            for e in self.events
            if e.get("method") == "Network.requestWillBeSent"
        ]

    def close(self) -> None:
        with contextlib.suppress(Exception):  # it may close the pipe as it leaves, or hang: killed below
            self.send("Browser.close")
        try:
            self.process.wait(timeout=30)
        finally:
            self.process.kill()
            os.close(self._commands)
            os.close(self._events)

    def _read(self, timeout: float = 60.0) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._events], [], [], max(deadline - time.monotonic(), 0))
            assert ready, "no answer from chromium within a minute"
            chunk = os.read(self._events, 1 << 16)
            if not chunk:
                raise EOFError("chromium closed its DevTools pipe")
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        result: dict[str, Any] = json.loads(message)
        return result


@pytest.fixture
def chromium(tmp_path: Path) -> Iterator[Chromium]:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        reason = "chromium not installed (apt-get install -y chromium)"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(f"CI must provide {reason}", pytrace=False)
        pytest.skip(reason)
    session = Chromium(browser, tmp_path / "profile")
    yield session
    session.close()


def test_the_checks_see_console_errors_and_outside_requests(tmp_path: Path, chromium: Chromium) -> None:
    """The detector itself: a page that logs an error and asks for an outside image is caught."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<!doctype html><p>x</p><script>console.error("probe")</script><img src="https://example.invalid/a.png">'
    )
    chromium.load(page.as_uri())
    assert any(args == [{"type": "string", "value": "probe"}] for args in chromium.errors())
    assert "https://example.invalid/a.png" in chromium.requests()


def test_report_renders_cleanly_within_its_budget(
    tmp_path: Path, chromium: Chromium, frames: tuple[pd.DataFrame, pd.DataFrame]
) -> None:
    text = check(*frames).to_html()
    assert len(text.encode()) < SIZE_BUDGET
    assert "http://" not in text  # no URL at all, so nothing to fetch
    assert "https://" not in text
    page = tmp_path / "report.html"
    page.write_text(text)
    chromium.load(page.as_uri())
    assert chromium.errors() == []
    assert chromium.requests() == [page.as_uri()]

    charts = json.loads(
        chromium.send("Runtime.evaluate", expression=LABEL_BOXES, returnByValue=True)["result"]["value"]
    )
    assert len(charts) == len(frames[0].columns)
    for chart in charts:
        for label in chart["labels"]:
            assert label["left"] >= 0, label
            assert label["right"] <= chart["width"], label
            assert label["top"] >= 0, label
            assert label["bottom"] <= chart["height"], label
        axis = sorted((b for b in chart["labels"] if not b["text"].endswith("%")), key=lambda b: b["left"])
        assert axis, chart
        assert all(a["right"] <= b["left"] for a, b in itertools.pairwise(axis)), axis

    shot = tmp_path / "report.png"
    shot.write_bytes(base64.b64decode(chromium.send("Page.captureScreenshot", format="png")["data"]))
    header = shot.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n"
    assert struct.unpack(">II", header[16:24]) == (1200, 900)
    assert shot.stat().st_size > 10_000  # a blank page compresses to far less
