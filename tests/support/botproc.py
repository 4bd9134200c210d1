"""Run ``tickbot run`` as a real process and talk to it over its metrics port."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import aiohttp
import orjson
from prometheus_client.parser import text_string_to_metric_families

from tests.support.asyncutil import eventually

ROOT = Path(__file__).resolve().parents[1].parent


class BotProcess:
    """A ``tickbot`` subprocess whose JSON log lines are collected as they come."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = {**os.environ, **(env or {})}
        self.proc: asyncio.subprocess.Process | None = None
        self.lines: list[dict] = []
        self.raw: list[str] = []
        self.port = 0
        self._reader: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 300.0) -> None:
        """Spawn; wait for the metrics port (a cold numba cache compiles for a minute or more)."""
        await self.start_process()
        await eventually(lambda: self.port != 0 or self.exited, timeout_s, "metrics port logged")
        assert not self.exited, "\n".join(self.raw)

    async def start_process(self) -> None:
        """Spawn and collect its output (no wait: for runs expected to fail at start)."""
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot.cli", *self.args,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            env=self.env, cwd=ROOT,
        )  # fmt: skip
        self._reader = asyncio.create_task(self._read())

    async def wait_exit(self, timeout_s: float = 300.0) -> int:
        """Return the exit code once the process ended and its output is read."""
        assert self.proc is not None
        async with asyncio.timeout(timeout_s):
            code = await self.proc.wait()
            if self._reader is not None:
                await self._reader
        return code

    @property
    def exited(self) -> bool:
        return self.proc is not None and self.proc.returncode is not None

    async def _read(self) -> None:
        assert self.proc is not None
        assert self.proc.stdout is not None
        async for line in self.proc.stdout:
            text = line.decode(errors="replace").rstrip("\n")
            self.raw.append(text)
            with contextlib.suppress(orjson.JSONDecodeError):
                record = orjson.loads(text)
                if isinstance(record, dict):
                    self.lines.append(record)
                    if "metrics_port" in record:
                        self.port = int(record["metrics_port"])

    def logged(self, fragment: str) -> bool:
        return any(fragment in r.get("message", "") for r in self.lines)

    async def get(self, path: str) -> tuple[int, bytes]:
        async with aiohttp.ClientSession() as s, s.get(f"http://127.0.0.1:{self.port}{path}") as r:
            return r.status, await r.read()

    async def metrics(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        status, body = await self.get("/metrics")
        assert status == 200
        out = {}
        for family in text_string_to_metric_families(body.decode()):
            for sample in family.samples:
                out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
        return out

    async def value(self, name: str, **labels: str) -> float:
        want = tuple(sorted(labels.items()))
        total = 0.0
        for (n, lab), v in (await self.metrics()).items():
            if n == name and all(item in lab for item in want):
                total += v
        return total

    async def wait_ready(self, timeout_s: float = 60.0) -> None:
        ready = False

        async def probe() -> None:
            nonlocal ready
            status, _ = await self.get("/readyz")
            ready = status == 200

        deadline = asyncio.get_running_loop().time() + timeout_s
        while not ready:
            assert not self.exited, "\n".join(self.raw[-40:])
            assert asyncio.get_running_loop().time() < deadline, "never ready"
            await probe()
            if not ready:
                await asyncio.sleep(0.05)

    async def until(self, cond, timeout_s: float = 60.0, what: str = "") -> None:  # type: ignore[no-untyped-def]
        """Poll an async condition until it holds."""
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not await cond():
            assert not self.exited, "\n".join(self.raw[-40:])
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out: {what}")
            await asyncio.sleep(0.05)

    async def terminate(self, timeout_s: float = 30.0) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        async with asyncio.timeout(timeout_s):
            code = await self.proc.wait()
            if self._reader is not None:
                await self._reader
        return code

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()
            await self.proc.wait()
        if self._reader is not None:
            self._reader.cancel()
