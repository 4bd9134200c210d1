"""Purpose-built markets for strategy backtests: a fair-price path, books around it, trades.

Each step of ``dt_ms`` every venue gets one message that moves its book to ``levels`` levels a
side around ``fair + offset`` (deletes of the levels that went away, then the new sizes; the last
row carries BATCH_END, so the book is never crossed at a message end), and, with probability
``trade_prob``, a trade at the touch (random aggressor side) that does *not* consume the level
(the next message restores the book anyway). Everything is seeded and in integer ticks and lots.

``lean`` tilts the book: at step ``i`` every bid size is scaled by ``1 + lean[i]`` and every ask
size by ``1 - lean[i]``, so the top-N imbalance ``(B - A) / (B + A)`` is about ``lean[i]``.
``pressure_episodes`` and ``lagged_drift`` build a market where that imbalance predicts the
next move (the fair price drifts towards the thin side, ``lag`` steps after the book leans) or,
with the drift taken from an independent lean series, one where it predicts nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from bot.core.dtypes import EVENT_DTYPE, EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentSpec
from bot.data.eventfile import EventFileWriter

START_NS = 1_704_067_200_000_000_000


def ou_path(n: int, dt_s: float, theta_per_s: float, sigma_ticks: float, seed: int) -> np.ndarray:
    """Return an Ornstein-Uhlenbeck path around 0 (ticks): mean reversion ``theta_per_s``."""
    rng = np.random.default_rng(seed)
    x = np.zeros(n)
    k = np.exp(-theta_per_s * dt_s)
    sd = (
        sigma_ticks * np.sqrt((1 - k * k) / (2 * theta_per_s))
        if theta_per_s > 0
        else (sigma_ticks * np.sqrt(dt_s))
    )
    noise = rng.standard_normal(n)
    for i in range(1, n):
        x[i] = k * x[i - 1] + sd * noise[i]
    return x


def trend_path(
    segments: list[tuple[int, float]],
    dt_s: float,
    *,
    theta_per_s: float,
    sigma_ticks: float,
    seed: int,
) -> np.ndarray:
    """Return a path (ticks, from 0) of ``(steps, ticks_per_step)`` linear segments plus
    Ornstein-Uhlenbeck noise (``ou_path``): swings around the trend line."""
    drift = np.concatenate([np.full(k, slope) for k, slope in segments]).cumsum()
    return drift + ou_path(drift.shape[0], dt_s, theta_per_s, sigma_ticks, seed)


def pressure_episodes(
    n: int, *, mean_gap_steps: float, length_steps: int, strength: float, noise: float, seed: int
) -> np.ndarray:
    """Return a per-step book lean: ``±strength`` during episodes of ``length_steps`` steps
    (random sign, exponential gaps of mean ``mean_gap_steps``), uniform ``±noise`` otherwise."""
    rng = np.random.default_rng(seed)
    lean = rng.uniform(-noise, noise, n)
    i = int(rng.exponential(mean_gap_steps))
    while i < n:
        lean[i : i + length_steps] = strength * (1 if rng.random() < 0.5 else -1)
        i += length_steps + int(rng.exponential(mean_gap_steps))
    return lean


def lagged_drift(lean: np.ndarray, lag_steps: int, ticks_per_step: float) -> np.ndarray:
    """Return the price path (ticks, from 0) that moves ``ticks_per_step * lean[i - lag_steps]``
    at step ``i``: towards the heavier book side (the thin side gets eaten), ``lag`` late."""
    step = np.zeros_like(lean)
    step[lag_steps:] = ticks_per_step * lean[: lean.shape[0] - lag_steps]
    return np.cumsum(step)


def book_events(
    fair: np.ndarray,
    *,
    venue: str = "sim",
    instrument: int = 0,
    dt_ms: float = 100.0,
    half_spread_ticks: int = 2,
    levels: int = 5,
    size_lot: int = 50,
    trade_prob: float = 0.3,
    trade_lot: int = 5,
    latency_ns: int = 1_000_000,
    offset_ticks: Callable[[int], int] | None = None,
    lean: np.ndarray | None = None,
    seed: int = 0,
) -> np.ndarray:
    """Return the event rows of one venue's book following ``fair`` (absolute ticks)."""
    rng = np.random.default_rng(seed)
    rows: list[tuple[int, int, int, int, int]] = []  # kind, flags, t, price, qty
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    vid = int(VenueId.from_label(venue))
    step_ns = round(dt_ms * 1e6)
    for i, f in enumerate(fair):
        t = START_NS + i * step_ns
        off = offset_ticks(i) if offset_ticks is not None else 0
        mid = int(np.rint(f)) + off
        best_bid = mid - half_spread_ticks
        best_ask = mid + half_spread_ticks
        new_b = {best_bid - k: size_lot + 10 * k + int(rng.integers(0, 10)) for k in range(levels)}
        new_a = {best_ask + k: size_lot + 10 * k + int(rng.integers(0, 10)) for k in range(levels)}
        if lean is not None:
            new_b = {p: max(1, round(q * (1 + lean[i]))) for p, q in new_b.items()}
            new_a = {p: max(1, round(q * (1 - lean[i]))) for p, q in new_a.items()}
        msg: list[tuple[int, int, int, int, int]] = []
        if i == 0:
            msg.append((EventKind.BOOK_CLEAR, EventFlag.SNAPSHOT, t, 0, 0))
        msg += [(EventKind.BOOK_BID, 0, t, p, 0) for p in bids if p not in new_b]
        msg += [(EventKind.BOOK_ASK, 0, t, p, 0) for p in asks if p not in new_a]
        msg += [(EventKind.BOOK_BID, 0, t, p, q) for p, q in new_b.items() if bids.get(p) != q]
        msg += [(EventKind.BOOK_ASK, 0, t, p, q) for p, q in new_a.items() if asks.get(p) != q]
        bids, asks = new_b, new_a
        if msg:
            kind, flags, tt, p, q = msg[-1]
            msg[-1] = (kind, flags | EventFlag.BATCH_END, tt, p, q)
            rows += msg
        if rng.random() < trade_prob:
            buy = rng.random() < 0.5
            kind = EventKind.TRADE_BUY if buy else EventKind.TRADE_SELL
            rows.append((kind, EventFlag.BATCH_END, t + step_ns // 2, best_ask if buy else best_bid,
                         trade_lot))  # fmt: skip
    ev = np.zeros(len(rows), dtype=EVENT_DTYPE)
    arr = np.array(rows, dtype=np.int64)
    ev["kind"] = arr[:, 0]
    ev["flags"] = arr[:, 1]
    ev["venue"] = vid
    ev["instrument"] = instrument
    ev["ts_exch_ns"] = arr[:, 2]
    ev["ts_local_ns"] = arr[:, 2] + latency_ns
    ev["price_tick"] = arr[:, 3]
    ev["qty_lot"] = arr[:, 4]
    ev["seq"] = np.arange(len(rows))
    return ev


def write(path: Path, events: np.ndarray, venue: str = "sim", symbol: str = "BTCUSDT") -> Path:
    """Write one venue's events to an event file (tick 0.1, lot 0.001)."""
    spec = InstrumentSpec(venue=venue, symbol=symbol, tick_size="0.1", lot_size="0.001")
    with EventFileWriter(path, [spec], "tests.support.markets") as writer:
        writer.write(events)
    return writer.path
