"""A real headless Chromium driven over the DevTools protocol (CDP), for testing HTML reports.

``Browser`` starts Debian's ``chromium`` with ``--remote-debugging-port=0`` on 127.0.0.1, reads
the port it chose from its ``DevToolsActivePort`` file, and talks CDP to one page over a
WebSocket (``websockets``' sync client). It records every console error, uncaught exception and
error-level log entry the page produces, so a test can assert there were none. Tests skip with
``SKIP_REASON`` where Chromium is absent (CI installs it: see ``.ci/run``).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

SKIP_REASON = "chromium not installed (Debian package chromium; CI installs it in .ci/run)"
START_TIMEOUT_S = 60.0
"""How long Chromium may take to open its DevTools port on a loaded machine."""
CALL_TIMEOUT_S = 60.0

CHART_POINTS_JS = """
(() => {
  const out = {};
  for (const el of document.querySelectorAll("div.chart")) {
    const traces = {};
    el.calcdata.forEach((cd, i) => {
      const t = el._fullData[i];
      const drawn = el.querySelectorAll(".trace")[i];
      traces[t.name] = {
        points: t.type === "heatmap" ? cd[0].z.flat().length : cd.length,
        markers: t.mode === "markers" ? drawn.querySelectorAll(".points path").length : null,
      };
    });
    out[el.id] = {expected: JSON.parse(el.dataset.points), drawn: traces,
                  svg: el.querySelectorAll(".main-svg").length};
  }
  return out;
})()
"""
"""Per chart of a report page (``div.chart``): the points each trace should hold (the page's
``data-points``), what plotly computed for it (``calcdata``: the points it lays out; heatmap
cells) and, for marker traces, the markers drawn in the SVG."""


def chromium_path() -> str:
    """Return the Chromium executable, or skip the calling test."""
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    pytest.skip(SKIP_REASON)


class Browser:
    """One headless Chromium with one page; a context manager."""

    def __init__(self) -> None:
        self._profile = tempfile.TemporaryDirectory(prefix="tickbot-chromium-")
        self.errors: list[str] = []
        self.requests: list[str] = []
        """Every URL the page asked for (a self-contained page asks only for itself). ``data:``
        URLs are left out: they are bytes inside the page (plotly draws heatmaps as one), never
        a fetch, so they cannot break the page offline."""
        self._ids = itertools.count(1)
        self._stack = contextlib.ExitStack()
        self._proc = subprocess.Popen(
            [
                chromium_path(), "--headless=new", "--no-sandbox", "--disable-gpu",
                "--no-first-run", "--no-default-browser-check", "--disable-extensions",
                "--remote-debugging-address=127.0.0.1", "--remote-debugging-port=0",
                f"--user-data-dir={self._profile.name}", "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        self._ws = self._connect()

    def _connect(self) -> ClientConnection:
        port_file = Path(self._profile.name) / "DevToolsActivePort"
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:  # Chromium writes the file once the port is open: a condition, polled
            if port_file.is_file() and port_file.read_text().count("\n") >= 1:
                port = int(port_file.read_text().split("\n")[0])
                break
            if self._proc.poll() is not None or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("chromium did not open its DevTools port")
            time.sleep(0.05)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as r:
            targets = json.load(r)
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        ws = self._stack.enter_context(connect(url, max_size=None, open_timeout=CALL_TIMEOUT_S))
        self._ws = ws
        for domain in ("Runtime", "Log", "Page", "Network"):
            self.call(f"{domain}.enable")
        return ws

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        """Send one CDP command and return its result (events seen meanwhile are recorded)."""
        msg_id = next(self._ids)
        self._ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self._ws.recv(timeout=CALL_TIMEOUT_S))
            if msg.get("id") == msg_id:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return dict(msg.get("result", {}))
            self._record(msg)

    def _record(self, msg: dict[str, Any]) -> None:
        method = msg.get("method")
        p = msg.get("params", {})
        if method == "Network.requestWillBeSent":
            url = str(p.get("request", {}).get("url"))
            if not url.startswith("data:"):
                self.requests.append(url)
        elif method == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
            self.errors.append(" ".join(str(a.get("value", a)) for a in p.get("args", [])))
        elif method == "Runtime.exceptionThrown":
            self.errors.append(str(p.get("exceptionDetails", {}).get("exception", p)))
        elif method == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
            self.errors.append(str(p["entry"].get("text")))

    def screenshot(self, path: Path) -> None:
        """Save a PNG of the whole page (for a human looking at a failure)."""
        import base64

        r = self.call("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        path.write_bytes(base64.b64decode(r["data"]))

    def evaluate(self, expression: str) -> Any:
        """Evaluate JavaScript in the page (promises awaited) and return its JSON value."""
        r = self.call(
            "Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True
        )
        if "exceptionDetails" in r:
            raise RuntimeError(f"page script failed: {r['exceptionDetails']}")
        return r["result"].get("value")

    def open(self, path: Path, ready: str, timeout_s: float = CALL_TIMEOUT_S) -> None:
        """Load ``path`` and wait until the JavaScript condition ``ready`` holds."""
        self.call("Page.navigate", url=path.resolve().as_uri())
        deadline = time.monotonic() + timeout_s
        while not self.evaluate(f"document.readyState === 'complete' && Boolean({ready})"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"page {path} never became ready ({ready})")
            time.sleep(0.05)

    def close(self) -> None:
        """Stop Chromium and remove its profile."""
        self._stack.close()
        if self._proc.poll() is None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._profile.cleanup()

    def __enter__(self) -> Browser:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
