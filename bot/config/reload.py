"""Hot reload of the config file the way Kubernetes updates a mounted ConfigMap.

The kubelet writes a ConfigMap volume as ``dir/..<timestamp>/<key>`` files, points the symlink
``dir/..data`` at the newest of those directories, and exposes each key as ``dir/<key> ->
..data/<key>``. An update writes a new timestamped directory and swaps ``..data`` with one atomic
rename, so a reader that opens ``dir/<key>`` sees either the whole old file or the whole new one.
The watcher therefore polls the *resolved* path and its inode/mtime/size (cheap, and it also sees
a plain file edited in place), reads the file when any of them moved, and acts on its content
hash:

* the same content as the active config (a touch, a re-sync): nothing;
* invalid (not YAML, a bad field, bad strategy params): logged with every error, counted in
  ``tickbot_config_reload_failures_total{reason="invalid"}``; the old config keeps running;
* valid but changing a field that is not reloadable (anything outside ``strategy.params``'s
  ``RELOADABLE`` fields and ``risk``, the kill switch included): refused as a whole, logged as
  "restart needed" naming the fields, counted with ``reason="restart_needed"``;
* otherwise handed to ``apply`` (which swaps params and limits between two events: the watcher
  runs on the trading loop, so a synchronous call cannot interleave with one) and exported as
  the new ``tickbot_config_info{hash=...}``.

A refused content is remembered by hash, so it is counted and logged once, not every poll.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import yaml

import strategies
from bot.config.check import config_errors
from bot.config.schema import (
    SAFE_LOADER,
    ConfigError,
    StrategyConfig,
    parse_config,
    validate_params,
)
from bot.metrics import registry as m

log = logging.getLogger(__name__)

HASH_CHARS = 12
"""Hex digits of the content hash used as the metric label and in logs."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A validated config: the whole file, its strategy params struct and its content hash."""

    config: StrategyConfig
    params: Any
    hash: str


def content_hash(data: bytes) -> str:
    """Return the short sha256 of a config file's bytes."""
    return hashlib.sha256(data).hexdigest()[:HASH_CHARS]


def parse_snapshot(data: bytes, source: str = "config") -> Snapshot:
    """Validate a config file's bytes; raise ``ConfigError`` listing every error."""
    try:
        raw = yaml.load(data.decode("utf-8"), Loader=SAFE_LOADER)
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise ConfigError(f"{source}: not valid YAML: {e}") from None
    errors = config_errors(raw)
    if errors:
        raise ConfigError(f"{source}: " + "; ".join(errors))
    config = parse_config(raw, source)
    module = strategies.load(config.strategy.name)
    params = validate_params(module.Params, config.strategy.params, source)
    return Snapshot(config=config, params=params, hash=content_hash(data))


def load_snapshot(path: str | Path) -> Snapshot:
    """Read and validate a config file (start-up; ``ConfigError`` on any problem)."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    return parse_snapshot(data, str(path))


def diff(old: Snapshot, new: Snapshot) -> tuple[list[str], list[str]]:
    """Return ``(reloadable, restart)``: the changed field paths, split by whether a swap may
    change them. Both sorted; both empty when nothing changed."""
    reloadable: list[str] = []
    restart: list[str] = []
    a, b = old.config, new.config
    for name in a.__struct_fields__:
        va, vb = getattr(a, name), getattr(b, name)
        if va == vb:
            continue
        if name == "risk":
            reloadable += [
                f"risk.{f}" for f in va.__struct_fields__ if getattr(va, f) != getattr(vb, f)
            ]
        elif name == "strategy" and va.name == vb.name:
            fixed = set(strategies.reload_changes(old.params, new.params))
            changed = [
                f for f in old.params.__struct_fields__
                if getattr(old.params, f) != getattr(new.params, f)
            ]  # fmt: skip
            restart += [f"strategy.params.{f}" for f in changed if f in fixed]
            reloadable += [f"strategy.params.{f}" for f in changed if f not in fixed]
        else:
            restart.append("strategy.name" if name == "strategy" else name)
    return sorted(reloadable), sorted(restart)


class Outcome(Enum):
    """What the watcher did with a changed file."""

    APPLIED = "applied"
    INVALID = "invalid"
    RESTART_NEEDED = "restart_needed"


Apply = Callable[[Snapshot, list[str]], None]
"""Swap in a new snapshot (given the changed reloadable fields); raise ``ValueError`` to refuse."""


def export_active(snapshot: Snapshot, previous: Snapshot | None = None) -> None:
    """Set ``tickbot_config_info`` to the active config (and drop the previous one's series)."""
    c = snapshot.config
    if previous is not None and previous.hash != snapshot.hash:
        pc = previous.config
        with contextlib.suppress(KeyError):
            m.CONFIG_INFO.remove(previous.hash, pc.strategy.name, pc.mode)
    m.CONFIG_INFO.labels(snapshot.hash, c.strategy.name, c.mode).set(1)


@dataclass(slots=True)
class _Seen:
    real: str
    ino: int
    mtime_ns: int
    size: int


def _stat(path: Path) -> _Seen | None:
    try:
        real = os.path.realpath(path)
        st = os.stat(real)
    except OSError:
        return None
    return _Seen(real, st.st_ino, st.st_mtime_ns, st.st_size)


def _read(path: Path) -> tuple[_Seen | None, bytes | None]:
    seen = _stat(path)
    if seen is None:
        return None, None
    try:
        return seen, path.read_bytes()
    except OSError:
        return seen, None


class ConfigWatcher:
    """Poll one config file; validate, diff and apply (or refuse) each new content."""

    def __init__(
        self, path: str | Path, active: Snapshot, apply: Apply, *, poll_s: float = 0.5
    ) -> None:
        self.path = Path(path)
        self.active = active
        self.apply = apply
        self.poll_s = poll_s
        self._seen = _stat(self.path)
        self._refused: set[str] = set()
        self.outcomes: list[tuple[Outcome, str]] = []
        """Every decision with the content hash, oldest first (for tests and the TTY view)."""

    async def run(self) -> None:
        """Poll until cancelled (file reads happen on a worker thread)."""
        while True:
            await asyncio.sleep(self.poll_s)
            seen, data = await asyncio.to_thread(_read, self.path)
            self.consider(seen, data)

    def check_now(self) -> Outcome | None:
        """Read and act on the file synchronously (tests, a SIGHUP)."""
        seen, data = _read(self.path)
        return self.consider(seen, data)

    def consider(self, seen: _Seen | None, data: bytes | None) -> Outcome | None:
        """Act on a read of the file; return what was done (None: nothing new)."""
        if seen is None or data is None:
            return None  # between a delete and a create, or not mounted yet: keep polling
        if self._seen == seen:
            return None
        self._seen = seen
        digest = content_hash(data)
        if digest == self.active.hash or digest in self._refused:
            return None
        try:
            new = parse_snapshot(data, str(self.path))
        except ConfigError as e:
            return self._refuse(digest, Outcome.INVALID, "config reload rejected: %s", str(e))
        except strategies.UnknownStrategyError as e:  # pragma: no cover - config_errors says so
            return self._refuse(digest, Outcome.INVALID, "config reload rejected: %s", str(e))
        reloadable, restart = diff(self.active, new)
        if restart:
            return self._refuse(
                digest, Outcome.RESTART_NEEDED,
                "config change refused, restart needed: %s", ", ".join(restart),
            )  # fmt: skip
        try:
            self.apply(new, reloadable)
        except ValueError as e:
            return self._refuse(digest, Outcome.INVALID, "config reload rejected: %s", str(e))
        previous, self.active = self.active, new
        export_active(new, previous)
        m.CONFIG_RELOADS.labels(Outcome.APPLIED.value).inc()
        self.outcomes.append((Outcome.APPLIED, digest))
        log.info("config reloaded: hash %s (was %s), changed %s", digest, previous.hash,
                 ", ".join(reloadable) or "nothing that matters",
                 extra={"config_hash": digest})  # fmt: skip
        return Outcome.APPLIED

    def _refuse(self, digest: str, outcome: Outcome, message: str, detail: str) -> Outcome:
        self._refused.add(digest)
        m.CONFIG_RELOADS.labels(outcome.value).inc()
        m.CONFIG_RELOAD_FAILURES.labels(outcome.value).inc()
        self.outcomes.append((outcome, digest))
        log.error(message + " (file hash %s; still running %s)", detail, digest, self.active.hash,
                  extra={"config_hash": self.active.hash})  # fmt: skip
        return outcome
