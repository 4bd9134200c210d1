"""A real Prometheus server (Debian's package) scraping a loopback target every second."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import aiohttp

PROMETHEUS = shutil.which("prometheus")
SKIP_REASON = "prometheus not installed (apt-get install prometheus; CI installs it)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Prometheus:
    """``prometheus`` as a subprocess with a one-job config."""

    def __init__(self, workdir: Path, target_port: int) -> None:
        self.workdir = workdir
        self.target_port = target_port
        self.port = _free_port()
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        assert PROMETHEUS is not None
        cfg = self.workdir / "prometheus.yml"
        cfg.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            "  - job_name: tickbot\n"
            f"    static_configs: [{{targets: ['127.0.0.1:{self.target_port}']}}]\n"
        )
        self.proc = await asyncio.create_subprocess_exec(
            PROMETHEUS, f"--config.file={cfg}", f"--storage.tsdb.path={self.workdir / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}",
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
        )  # fmt: skip

    async def query(self, expr: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.port}/api/v1/query"
        try:
            async with aiohttp.ClientSession() as s, s.get(url, params={"query": expr}) as r:
                if r.status != 200:
                    return []
                body = await r.json()
        except aiohttp.ClientError:
            return []
        return list(body.get("data", {}).get("result", []))

    async def stop(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.terminate()
            await self.proc.wait()
