"""Set up a backtest from a config file and event files (shared by ``backtest`` and ``sweep``).

Everything a user can get wrong is checked here and raised as ``SetupError`` with one line that
says what and where: missing or corrupt files, instruments the data does not have, bad latency
files, strategy params that fail validation.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

import strategies
from bot.backtest.engine import Backtest, BacktestError, DataError, EngineOptions
from bot.backtest.merge import merge_events, union_specs
from bot.backtest.sim_types import QueueModel
from bot.backtest.stats import compute_stats
from bot.config.schema import ConfigError, StrategyConfig, validate_params
from bot.core.instruments import InstrumentSpec
from bot.core.risk import make_limits, new_risk
from bot.data.eventfile import EventFileError, read_event_file


class SetupError(ValueError):
    """A user mistake in the config, the data or an option (one line, exit 2 in the CLI)."""


@dataclass
class Dataset:
    """Events of one or more files, merged by local time, and their instruments."""

    events: np.ndarray
    instruments: list[InstrumentSpec]
    paths: list[Path] = field(default_factory=list)


def load_data(paths: Sequence[str | Path]) -> Dataset:
    """Open event files (memory-mapped); several are merged by local time (streaming)."""
    if not paths:
        raise SetupError("no data files given")
    files = []
    for p in paths:
        try:
            files.append(read_event_file(p))
        except EventFileError as e:
            raise SetupError(str(e)) from None
    for f in files:
        if f.events.shape[0] == 0:
            raise SetupError(f"{f.path}: holds no events")
    if len(files) == 1:  # used in place; the engine checks order and instrument ids as it goes
        return Dataset(files[0].events, list(files[0].instruments), [files[0].path])
    specs, remaps = union_specs([f.instruments for f in files])
    merged = merge_events([f.events for f in files], remaps)
    return Dataset(merged, specs, [f.path for f in files])


def parse_duration_ns(text: str) -> int:
    """Parse ``5ms``, ``250us``, ``0.005s``, ``1000ns`` (a bare number is milliseconds)."""
    m = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ns|us|ms|s)?\s*", text)
    if m is None:
        raise SetupError(f"bad duration {text!r} (examples: 5ms, 250us, 0.005s)")
    scale = {"ns": 1, "us": 1_000, "ms": 1_000_000, "s": 1_000_000_000, None: 1_000_000}
    return round(float(m.group(1)) * scale[m.group(2)])


def load_latency_file(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read measured latencies (ns): ``.npy`` or text, one column (both ways) or two."""
    path = Path(path)
    try:
        data = np.load(path) if path.suffix == ".npy" else np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as e:
        raise SetupError(f"{path}: cannot read latencies ({e})") from None
    data = np.asarray(data, dtype=np.float64)
    if data.ndim == 1:
        data = data[:, None]
    if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] not in (1, 2):
        raise SetupError(f"{path}: expected one or two columns of latencies in ns")
    if not np.isfinite(data).all() or (data < 0).any():
        raise SetupError(f"{path}: latencies must be finite and >= 0 ns")
    entry = data[:, 0].astype(np.int64)
    response = data[:, -1].astype(np.int64)
    return entry, response


LATENCY_SAMPLES = 1 << 16
"""Values drawn per direction for a latency distribution (used in turn, like a measured file)."""

_Z99 = 2.3263478740408408
"""The standard normal's 99th percentile: p99 = median * exp(sigma * _Z99) for a lognormal."""

_DISTRIBUTION = re.compile(r"\s*([a-z]+)\s*:(.*)")


def latency_distribution(spec: str, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Draw entry and response latencies (ns) from ``lognormal:median=2ms,p99=8ms``.

    Users rarely have measured latencies before they trade; a lognormal is the usual shape of
    network latency (a floor-like median and a long right tail). Its median and 99th percentile
    fix it: ``mu = ln(median)``, ``sigma = ln(p99 / median) / z99``. Each direction gets its own
    independent draw of ``LATENCY_SAMPLES`` values from a generator seeded by ``seed`` (so a run
    is reproducible and another seed gives other latencies).
    """
    m = _DISTRIBUTION.fullmatch(spec)
    if m is None or m.group(1) != "lognormal":
        raise SetupError(f"bad --latency {spec!r}: lognormal:median=2ms,p99=8ms is the form")
    fields: dict[str, int] = {}
    for part in m.group(2).split(","):
        key, sep, value = part.partition("=")
        key = key.strip()
        if not sep or key not in ("median", "p99") or key in fields:
            raise SetupError(f"bad --latency {spec!r}: give median= and p99= once each")
        fields[key] = parse_duration_ns(value)
    if set(fields) != {"median", "p99"}:
        raise SetupError(f"bad --latency {spec!r}: give median= and p99= once each")
    median, p99 = fields["median"], fields["p99"]
    if median <= 0 or p99 < median:
        raise SetupError(f"bad --latency {spec!r}: need 0 < median <= p99")
    sigma = np.log(p99 / median) / _Z99
    rng = np.random.default_rng(seed)
    draws = rng.lognormal(np.log(median), sigma, size=(2, LATENCY_SAMPLES))
    entry, response = np.rint(draws).astype(np.int64)
    return entry, response


def queue_of(spec: str) -> tuple[QueueModel, float]:
    """Parse ``risk_averse``, ``proportional``, ``power`` or ``power:N`` (dashes allowed)."""
    name, _, arg = spec.replace("-", "_").partition(":")
    if name == "risk_averse" and not arg:
        return QueueModel.RISK_AVERSE, 1.0
    if name == "proportional" and not arg:
        return QueueModel.PROBABILISTIC, 1.0
    if name == "power":
        try:
            power = float(arg) if arg else 2.0
        except ValueError:
            power = -1.0
        if 0 < power <= 10:
            return QueueModel.PROBABILISTIC, power
    raise SetupError(f"bad queue model {spec!r} (risk-averse, proportional, power or power:N)")


@dataclass(frozen=True)
class Overrides:
    """Command-line options that override the config's backtest section."""

    latency: str | None = None
    queue_model: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


def _latencies(cfg: StrategyConfig, override: str | None) -> tuple[np.ndarray, np.ndarray]:
    lat = cfg.backtest.latency
    if override is not None and ":" in override and not Path(override).exists():
        return latency_distribution(override, cfg.backtest.seed)
    if override is not None:
        if Path(override).suffix in (".npy", ".csv", ".txt") or Path(override).exists():
            return load_latency_file(override)
        parts = override.split(",")
        if len(parts) > 2:
            raise SetupError(f"bad --latency {override!r}: ENTRY[,RESPONSE] or a file")
        entry = parse_duration_ns(parts[0])
        response = parse_duration_ns(parts[-1])
        return np.array([entry]), np.array([response])
    if lat.file is not None:
        return load_latency_file(lat.file)
    response_ms = lat.entry_ms if lat.response_ms is None else lat.response_ms
    return np.array([round(lat.entry_ms * 1e6)]), np.array([round(response_ms * 1e6)])


def build(cfg: StrategyConfig, data: Dataset, overrides: Overrides | None = None) -> Backtest:
    """Return a ready ``Backtest`` for ``cfg`` on ``data``."""
    ov = overrides if overrides is not None else Overrides()
    try:
        module = strategies.load(cfg.strategy.name)
    except strategies.UnknownStrategyError as e:
        raise SetupError(f"strategy.name: {e}") from None
    try:
        params = validate_params(module.Params, {**cfg.strategy.params, **ov.params})
    except ConfigError as e:
        raise SetupError(str(e)) from None
    keys = {spec.key: i for i, spec in enumerate(data.instruments)}
    traded = []
    for ref in cfg.instruments:
        if (ref.venue, ref.symbol) not in keys:
            have = ", ".join(f"{v}:{s}" for v, s in keys) or "none"
            raise SetupError(f"unknown instrument {ref.venue}:{ref.symbol} (the data has {have})")
        traded.append(keys[(ref.venue, ref.symbol)])
    check = getattr(module, "check_instruments", None)
    if check is not None:
        try:
            check(params, [data.instruments[i] for i in traded])
        except ValueError as e:
            raise SetupError(f"instruments: {e}") from None
    r = cfg.risk
    limits, _, _ = new_risk(len(data.instruments))
    for i in range(len(data.instruments)):
        limits[i] = make_limits(
            max_position_lot=r.max_position_lot,
            max_order_lot=r.max_order_lot,
            max_notional_quote=r.max_notional_quote,
            price_band_bps=r.price_band_bps,
            max_open_orders=r.max_open_orders,
            orders_per_s=r.orders_per_s,
            burst=r.burst,
            kill_switch=r.kill_switch or i not in traded,
        )
    b = cfg.backtest
    model, power = (
        queue_of(ov.queue_model)
        if ov.queue_model is not None
        else queue_of(b.queue.model if b.queue.model != "power" else f"power:{b.queue.power}")
    )
    lat_in, lat_out = _latencies(cfg, ov.latency)
    n = len(data.instruments)
    fees = b.fees
    options = EngineOptions(
        lat_in_ns=lat_in,
        lat_out_ns=lat_out,
        queue_model=model,
        queue_power=power,
        maker_fee=None if fees.maker_bps is None else [fees.maker_bps * 1e-4] * n,
        taker_fee=None if fees.taker_bps is None else [fees.taker_bps * 1e-4] * n,
        funding=b.funding,
        sample_interval_ns=round(b.sample_interval_ms * 1e6),
        initial_capital_quote=b.initial_capital_quote,
        seed=b.seed,
        max_orders=b.max_orders,
    )
    events = data.events
    if b.venue_clock == "local":  # the venue sees each event when we do (paper mode's clock)
        events = np.array(events)  # a plain copy: a memmap's copy is a memmap (release_pages)
        events["ts_exch_ns"] = events["ts_local_ns"]
    try:
        return Backtest(events, data.instruments, module, params, traded, limits, options)
    except BacktestError as e:
        raise SetupError(str(e)) from None


def run(
    cfg: StrategyConfig,
    data: Dataset,
    overrides: Overrides | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[Backtest, dict[str, Any]]:
    """Build and run a backtest; return it and its stats (with timing figures added)."""
    t = time.perf_counter()
    bt = build(cfg, data, overrides)
    bt.warm_up()
    try:
        bt.run(progress=progress)
    except DataError as e:
        raise SetupError(f"{', '.join(map(str, data.paths))}: {e}") from None
    stats = compute_stats(bt)
    n = int(bt.events.shape[0])
    stats["events"] = n
    stats["compile_s"] = bt.compile_s
    stats["run_s"] = bt.run_s
    stats["events_per_s"] = n / bt.run_s if bt.run_s > 0 else 0.0
    stats["wall_s"] = time.perf_counter() - t
    stats["requests_logged"] = int(bt.request_rows().shape[0])
    stats["requests_lost"] = bt.requests_lost
    return bt, stats


__all__ = ["Dataset", "Overrides", "SetupError", "build", "load_data", "run"]
