"""Turn a validated config into what the core needs: specs, limits, venue options, credentials.

Each failure a user can cause (an unknown venue or symbol, a missing key, a bad latency file) is
a ``StartupError`` with one line; ``tickbot run`` prints it and exits 2.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import numpy as np

from bot.adapters.errors import AdapterError
from bot.adapters.trading import Credentials
from bot.backtest.engine import EngineOptions
from bot.backtest.session import SetupError, load_latency_file, queue_of
from bot.config.schema import RiskSection, StrategyConfig, VenueSection
from bot.core.instruments import InstrumentError, InstrumentSpec
from bot.core.risk import make_limits, new_risk
from bot.ingest.venues import fetch_specs
from bot.logsetup import redact
from bot.runtime.simmarket import sim_spec


class StartupError(RuntimeError):
    """The bot cannot start as configured (one line for the user)."""


def limits_for(risk: RiskSection, n: int, traded: Sequence[int]) -> np.ndarray:
    """Return one limits row per instrument; untraded instruments are switched off."""
    limits, _, _ = new_risk(n)
    for i in range(n):
        limits[i] = make_limits(
            max_position_lot=risk.max_position_lot,
            max_order_lot=risk.max_order_lot,
            max_notional_quote=risk.max_notional_quote,
            price_band_bps=risk.price_band_bps,
            max_open_orders=risk.max_open_orders,
            orders_per_s=risk.orders_per_s,
            burst=risk.burst,
            kill_switch=risk.kill_switch or i not in traded,
        )
    return limits


def engine_options(cfg: StrategyConfig) -> EngineOptions:
    """Return the simulated venue's options (latency, queue, fees) from ``backtest``."""
    b = cfg.backtest
    lat = b.latency
    try:
        if lat.file is not None:
            lat_in, lat_out = load_latency_file(lat.file)
        else:
            response_ms = lat.entry_ms if lat.response_ms is None else lat.response_ms
            lat_in = np.array([round(lat.entry_ms * 1e6)])
            lat_out = np.array([round(response_ms * 1e6)])
        model, power = queue_of(
            b.queue.model if b.queue.model != "power" else f"power:{b.queue.power}"
        )
    except SetupError as e:
        raise StartupError(str(e)) from None
    n = len(cfg.instruments)
    fees = b.fees
    return EngineOptions(
        lat_in_ns=lat_in,
        lat_out_ns=lat_out,
        queue_model=model,
        queue_power=power,
        maker_fee=None if fees.maker_bps is None else [fees.maker_bps * 1e-4] * n,
        taker_fee=None if fees.taker_bps is None else [fees.taker_bps * 1e-4] * n,
        seed=b.seed,
        max_orders=b.max_orders,
    )


def sim_specs(cfg: StrategyConfig) -> list[InstrumentSpec]:
    """Return the specs of a sim run's instruments (the sim section's grid)."""
    return [sim_spec(cfg.sim, ref.venue, ref.symbol) for ref in cfg.instruments]


async def venue_specs(cfg: StrategyConfig, timeout_s: float = 15.0) -> list[InstrumentSpec]:
    """Fetch the traded instruments' specs from each venue's REST API, in config order."""
    by_venue = {v.name: v for v in cfg.venues}
    specs: dict[tuple[str, str], InstrumentSpec] = {}
    async with aiohttp.ClientSession() as http:
        for name, section in by_venue.items():
            symbols = [r.symbol for r in cfg.instruments if r.venue == name]
            if not symbols:
                continue
            try:
                got = await fetch_specs(
                    http, name, symbols, rest_base_url=section.rest_url, timeout_s=timeout_s
                )
            except (AdapterError, InstrumentError, ValueError) as e:
                raise StartupError(f"{name}: {e}") from None
            for spec in got:
                specs[(name, spec.symbol)] = spec
    return [specs[(r.venue, r.symbol)] for r in cfg.instruments]


def _read_secret(directory: Path, name: str) -> str | None:
    path = directory / name
    try:
        return path.read_text(encoding="utf-8").strip() or None
    except FileNotFoundError:
        return None
    except OSError as e:
        raise StartupError(f"{path}: cannot read ({e.strerror})") from None


def load_credentials(venue: VenueSection) -> Credentials:
    """Read a venue account's keys from its Secret directory or environment variables.

    Every value is registered with the log scrubber before it is returned.
    """
    prefix = venue.name.upper().replace("-", "_")
    c = venue.credentials
    if c is not None and c.directory is not None:
        directory = Path(c.directory)
        key = _read_secret(directory, "api_key")
        secret = _read_secret(directory, "api_secret")
        passphrase = _read_secret(directory, "passphrase")
        where = f"files api_key/api_secret in {directory}"
    else:
        key_env = (c.api_key_env if c else None) or f"{prefix}_API_KEY"
        secret_env = (c.api_secret_env if c else None) or f"{prefix}_API_SECRET"
        pass_env = (c.passphrase_env if c else None) or f"{prefix}_API_PASSPHRASE"
        key = os.environ.get(key_env) or None
        secret = os.environ.get(secret_env) or None
        passphrase = os.environ.get(pass_env) or None
        where = f"environment variables {key_env} and {secret_env}"
    if key is None or secret is None:
        raise StartupError(f"{venue.name}: mode live needs credentials ({where} are not set)")
    redact(key, secret, passphrase)
    return Credentials(api_key=key, api_secret=secret, passphrase=passphrase)
