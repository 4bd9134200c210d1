"""What ``tickbot orders`` and ``tickbot cancel-all`` share: the config's venue accounts.

Each venue listed in ``venues`` that has configured instruments becomes one ``VenueAccount``:
its order entry (REST: these are one-shot operator commands), built from the section by
``bot.execution.venues`` with the credentials ``load_credentials`` reads from the environment
or a mounted Secret. Every mistake a user can fix (no such file, invalid config, no real venue,
missing credentials) is a ``UserError``: one line, exit 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from bot.adapters.errors import AdapterError
from bot.adapters.trading import OrderEntry
from bot.cli import UserError
from bot.config.schema import ConfigError, StrategyConfig, VenueSection, load_config

T = TypeVar("T")
DEFAULT_TIMEOUT_S = 10.0
VenueErrors = (AdapterError, TimeoutError, OSError)
"""What a venue call can raise: its message names the venue's answer, never a secret."""


@dataclass
class VenueAccount:
    """One configured venue account and the symbols the config trades on it."""

    section: VenueSection
    symbols: list[str]
    entry: OrderEntry
    errors: list[str] = field(default_factory=list)
    """Venue calls that failed (one line each), reported after the rest is printed."""

    @property
    def name(self) -> str:
        """Return the venue's name."""
        return self.section.name

    async def call(self, what: str, coro: Awaitable[T], timeout_s: float) -> T | None:
        """Await one venue call; record a failure as a line and return None."""
        try:
            async with asyncio.timeout(timeout_s):
                return await coro
        except VenueErrors as e:
            self.errors.append(f"{self.name}: {what}: {type(e).__name__}: {e}")
            return None


def add_config_options(p: argparse.ArgumentParser) -> None:
    """``--config`` and ``--timeout``, shared by the operator commands."""
    p.add_argument("--config", type=Path, required=True, help="config file (YAML)")
    p.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT_S,
        help="deadline of each venue request, seconds",
    )


def load(args: argparse.Namespace) -> StrategyConfig:
    """Return the validated config named by ``--config`` (``UserError`` otherwise)."""
    if not 0 < args.timeout <= 300:
        raise UserError("--timeout must be in (0, 300] seconds")
    try:
        return load_config(args.config)
    except ConfigError as e:
        raise UserError(str(e)) from None


def open_accounts(cfg: StrategyConfig, source: str, timeout_s: float) -> list[VenueAccount]:
    """Return an account per configured venue that trades instruments (module doc)."""
    from bot.execution.venues import ORDER_VENUES, build_order_entry
    from bot.runtime.setup import StartupError, load_credentials

    by_name = {v.name: v for v in cfg.venues}
    symbols: dict[str, list[str]] = {}
    for i, ref in enumerate(cfg.instruments):
        if ref.venue == "sim":
            continue
        if ref.venue not in by_name:
            raise UserError(f"{source}: instruments[{i}].venue: {ref.venue!r} is not in venues")
        if ref.venue not in ORDER_VENUES:
            raise UserError(f"{source}: instruments[{i}].venue: {ref.venue!r} takes no orders")
        symbols.setdefault(ref.venue, [])
        if ref.symbol not in symbols[ref.venue]:
            symbols[ref.venue].append(ref.symbol)
    if not symbols:
        raise UserError(f"{source}: no instrument on a real venue (sim orders live in the bot)")
    accounts: list[VenueAccount] = []
    for name, syms in symbols.items():  # sessions open lazily: nothing to close on an error
        section = by_name[name]
        try:
            creds = load_credentials(section)
        except StartupError as e:
            raise UserError(str(e)) from None
        entry = build_order_entry(section, creds, syms, timeout_s=timeout_s, transport="rest")
        accounts.append(VenueAccount(section, syms, entry))
    return accounts


async def close_all(accounts: Sequence[VenueAccount]) -> None:
    """Close every account's session."""
    for acct in accounts:
        with contextlib.suppress(*VenueErrors):
            await acct.entry.close()
