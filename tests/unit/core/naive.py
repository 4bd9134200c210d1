"""Naive pure-Python oracles for the core kernels: obviously correct, slow, independent code."""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from bot.core.book import BookCheck, BookStatus


@dataclass
class NaiveBook:
    """A dict book: every level set and not deleted is kept, at any price (the book's invariant).

    ``window`` is accepted for symmetry with ``bot.core.book.Book`` and plays no part: the exact
    book's window is a speed device, so it must not show in what the book holds.
    """

    window: int = 0
    bids: dict[int, int] = field(default_factory=dict)
    asks: dict[int, int] = field(default_factory=dict)
    valid: bool = True

    def set(self, side: int, price: int, qty: int) -> BookStatus:
        if qty < 0:
            return BookStatus.INVALID
        levels = self.bids if side == 0 else self.asks
        if qty == 0:
            levels.pop(price, None)
        else:
            levels[price] = qty
        return BookStatus.OK

    def clear(self) -> None:
        self.bids.clear()
        self.asks.clear()
        self.valid = True

    def best_bid(self) -> int | None:
        return max(self.bids) if self.bids else None

    def best_ask(self) -> int | None:
        return min(self.asks) if self.asks else None

    def top(self, side: int, n: int) -> list[tuple[int, int]]:
        if side == 0:
            return sorted(self.bids.items(), reverse=True)[:n]
        return sorted(self.asks.items())[:n]

    def check(self) -> BookCheck:
        if not self.valid:
            return BookCheck.INVALID
        bid, ask = self.best_bid(), self.best_ask()
        if bid is None or ask is None:
            return BookCheck.EMPTY_SIDE
        if bid > ask:
            return BookCheck.CROSSED
        if bid == ask:
            return BookCheck.LOCKED
        return BookCheck.OK


def naive_book_signals(book: NaiveBook, levels: int) -> dict[str, float] | None:
    """Mid, microprice, spread and top-N imbalance of a valid two-sided book, else None."""
    bid, ask = book.best_bid(), book.best_ask()
    if bid is None or ask is None or bid >= ask:
        return None
    bq, aq = book.bids[bid], book.asks[ask]
    total_b = sum(q for _, q in book.top(0, levels))
    total_a = sum(q for _, q in book.top(1, levels))
    return {
        "mid_tick": (bid + ask) / 2,
        "micro_tick": (bid * aq + ask * bq) / (bq + aq),
        "spread_tick": float(ask - bid),
        "imbalance": (total_b - total_a) / (total_b + total_a),
    }


class NaiveVol:
    """EWMA variance rate of mid log-returns with time decay (see bot.core.signal)."""

    def __init__(self, tau_s: float) -> None:
        self.tau_s = tau_s
        self.last_mid: float | None = None
        self.last_ns = 0
        self.ew_r2 = 0.0
        self.ew_dt = 0.0
        self.vol = 0.0

    def update(self, mid: float, ts_ns: int) -> float:
        if self.last_mid is None:
            self.last_mid, self.last_ns = mid, ts_ns
        elif mid != self.last_mid and ts_ns > self.last_ns:
            dt = (ts_ns - self.last_ns) / 1e9
            w = math.exp(-dt / self.tau_s)
            r = math.log(mid / self.last_mid)
            self.ew_r2 = w * self.ew_r2 + (1 - w) * r * r
            self.ew_dt = w * self.ew_dt + (1 - w) * dt
            self.vol = math.sqrt(self.ew_r2 / self.ew_dt)
            self.last_mid, self.last_ns = mid, ts_ns
        return self.vol


class NaiveTrades:
    """Trade-flow imbalance (time-decayed) and a windowed VWAP over at most ``capacity`` trades."""

    def __init__(self, tau_s: float, window_s: float, capacity: int) -> None:
        self.tau_s, self.window_ns, self.capacity = tau_s, window_s * 1e9, capacity
        self.signed = 0.0
        self.total = 0.0
        self.last_ns = 0
        self.trades: deque[tuple[int, int, int]] = deque()

    def update(self, ts_ns: int, side: int, price: int, qty: int) -> tuple[float, float]:
        w = 1.0
        if self.total > 0 and ts_ns > self.last_ns:
            w = math.exp(-(ts_ns - self.last_ns) / 1e9 / self.tau_s)
        self.signed = w * self.signed + side * qty
        self.total = w * self.total + qty
        self.last_ns = max(self.last_ns, ts_ns)
        self.trades.append((ts_ns, price, qty))
        if len(self.trades) > self.capacity:
            self.trades.popleft()
        while len(self.trades) > 1 and self.trades[0][0] < ts_ns - self.window_ns:
            self.trades.popleft()
        vwap = sum(p * q for _, p, q in self.trades) / sum(q for _, _, q in self.trades)
        return self.signed / self.total, vwap


@dataclass
class NaiveRisk:
    """The documented risk checks, written out plainly."""

    max_position: int
    max_order: int
    max_notional: float
    band_bps: float
    max_open: int
    rate: float
    burst: float
    kill: bool = False
    position: int = 0
    open_buy: int = 0
    open_sell: int = 0
    open_orders: int = 0
    tokens: float | None = None
    last_ns: int = 0

    def check(
        self,
        action: int,
        side: int,
        price: int,
        qty: int,
        market: bool,
        mid: float,
        qptl: float,
        now_ns: int,
    ) -> int:
        from bot.core.dtypes import RiskReason as R

        if action in (2, 4):
            return R.OK
        if self.kill:
            return R.KILL_SWITCH
        if action not in (1, 3) or qty <= 0 or side not in (1, -1) or (not market and price <= 0):
            return R.INVALID_ORDER
        if qty > self.max_order:
            return R.MAX_ORDER_QTY
        if side == 1 and self.position + self.open_buy + qty > self.max_position:
            return R.MAX_POSITION
        if side == -1 and self.position - self.open_sell - qty < -self.max_position:
            return R.MAX_POSITION
        if not (mid > 0):
            return R.NO_REFERENCE_PRICE
        px = mid if market else price
        if px * qty * qptl > self.max_notional:
            return R.MAX_NOTIONAL
        if not market and abs(px - mid) * 1e4 > self.band_bps * mid:
            return R.PRICE_BAND
        if action == 1 and self.open_orders >= self.max_open:
            return R.MAX_OPEN_ORDERS
        if self.tokens is None:
            tokens = self.burst
        else:
            tokens = min(self.burst, self.tokens + max(0, now_ns - self.last_ns) * 1e-9 * self.rate)
        self.last_ns = now_ns
        self.tokens = tokens
        if tokens < 1:
            return R.RATE_LIMIT
        self.tokens = tokens - 1
        if action == 1:
            self.open_orders += 1
            if side == 1:
                self.open_buy += qty
            else:
                self.open_sell += qty
        return R.OK
