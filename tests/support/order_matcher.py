"""The deterministic matcher behind the loopback order venues (``order_venue.py``).

Orders rest until a test fills them (``fill``) or cross the market set by ``set_market`` on
arrival (taker fill of the whole size). Filters, margin, reduce-only and post-only refusals are
raised as ``MatchError(kind)``; every change returns events the venue plug-ins turn into their
own stream frames.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

MAKER_FEE = Decimal("0.0002")
TAKER_FEE = Decimal("0.0005")


def fmt(value: Decimal) -> str:
    """A decimal as a plain string without exponent or trailing zeros."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


@dataclass(frozen=True)
class Filters:
    """Price/size grid of one symbol."""

    tick: str
    lot: str
    min_qty: str = "0"


class MatchError(Exception):
    """A definite refusal; ``kind`` names it, the plugin renders the venue's body."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


@dataclass
class SimOrder:
    """One order as the server knows it. ``status`` uses Binance-style names internally."""

    client_order_id: str
    venue_order_id: str
    symbol: str
    side: int
    qty: Decimal
    price: Decimal | None
    post_only: bool = False
    ioc: bool = False
    reduce_only: bool = False
    market: bool = False
    filled: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)
    status: str = "NEW"
    created_ms: int = 0
    updated_ms: int = 0

    @property
    def avg_price(self) -> Decimal:
        return self.notional / self.filled if self.filled else Decimal(0)

    @property
    def is_open(self) -> bool:
        return self.status in ("NEW", "PARTIALLY_FILLED")


@dataclass(frozen=True)
class SimFill:
    """One execution of one order."""

    trade_id: str
    order: SimOrder
    qty: Decimal
    price: Decimal
    fee: Decimal
    maker: bool
    ts_ms: int


Event = tuple[str, Any]
"""("order", SimOrder snapshot) or ("fill", SimFill)."""


class Matcher:
    """Deterministic matching: resting orders fill when the test says so (``fill``) or when an
    incoming order crosses the market set by ``set_market`` (taker, whole size)."""

    def __init__(self, filters: dict[str, Filters], now_ms: Callable[[], int]) -> None:
        self.filters = {
            s: (Decimal(f.tick), Decimal(f.lot), Decimal(f.min_qty)) for s, f in filters.items()
        }
        self.now_ms = now_ms
        self.market: dict[str, tuple[Decimal, Decimal]] = {}
        self.orders: dict[str, SimOrder] = {}
        self.by_venue_id: dict[str, SimOrder] = {}
        self.positions: dict[str, Decimal] = {}
        self.entry: dict[str, Decimal] = {}
        self.fills: list[SimFill] = []
        self.margin = Decimal("1000000")
        self.post_only_rejects = True
        """True: a crossing post-only order is refused (Binance); False: accepted, cancelled."""
        self._next_id = 1000
        self._next_trade = 5000

    def _snapshot(self, o: SimOrder) -> SimOrder:
        return SimOrder(**o.__dict__)

    def _check(self, o: SimOrder) -> None:
        if o.client_order_id in self.orders:
            raise MatchError("duplicate")
        tick, lot, min_qty = self.filters.get(
            o.symbol, (Decimal("0.00000001"), Decimal("0.00000001"), Decimal(0))
        )
        if o.price is not None and (o.price <= 0 or o.price % tick != 0):
            raise MatchError("price_filter")
        if o.qty <= 0 or o.qty % lot != 0 or o.qty < min_qty:
            raise MatchError("lot_filter")
        pos = self.positions.get(o.symbol, Decimal(0))
        if o.reduce_only and (pos == 0 or (pos > 0) == (o.side > 0) or o.qty > abs(pos)):
            raise MatchError("reduce_only")
        ref = o.price if o.price is not None else self._touch(o)
        if ref is not None and not o.reduce_only and o.qty * ref > self.margin:
            raise MatchError("insufficient_margin")

    def _touch(self, o: SimOrder) -> Decimal | None:
        bbo = self.market.get(o.symbol)
        if bbo is None:
            return None
        return bbo[1] if o.side > 0 else bbo[0]

    def _crosses(self, o: SimOrder) -> bool:
        touch = self._touch(o)
        if touch is None:
            return False
        return o.market or o.price is None or (o.price >= touch if o.side > 0 else o.price <= touch)

    def new(self, o: SimOrder) -> list[Event]:
        """Accept (and maybe fill) a new order, or raise ``MatchError``."""
        self._check(o)
        crosses = self._crosses(o)
        if o.post_only and crosses and self.post_only_rejects:
            raise MatchError("post_only")
        self._next_id += 1
        o.venue_order_id = str(self._next_id)
        o.created_ms = o.updated_ms = self.now_ms()
        self.orders[o.client_order_id] = o
        self.by_venue_id[o.venue_order_id] = o
        events: list[Event] = [("order", self._snapshot(o))]
        if o.post_only and crosses:
            return events + self._close(o, "CANCELED")
        if crosses:
            touch = self._touch(o)
            assert touch is not None
            return events + self._execute(o, o.qty, touch, maker=False)
        if o.ioc or o.market:
            return events + self._close(o, "EXPIRED")
        return events

    def _close(self, o: SimOrder, status: str) -> list[Event]:
        o.status = status
        o.updated_ms = self.now_ms()
        return [("order", self._snapshot(o))]

    def _execute(self, o: SimOrder, qty: Decimal, price: Decimal, *, maker: bool) -> list[Event]:
        qty = min(qty, o.qty - o.filled)
        o.filled += qty
        o.notional += qty * price
        o.status = "FILLED" if o.filled >= o.qty else "PARTIALLY_FILLED"
        o.updated_ms = self.now_ms()
        pos = self.positions.get(o.symbol, Decimal(0))
        new_pos = pos + o.side * qty
        if new_pos != 0 and (pos == 0 or (pos > 0) == (o.side > 0)):
            self.entry[o.symbol] = (
                self.entry.get(o.symbol, Decimal(0)) * abs(pos) + price * qty
            ) / abs(new_pos)
        self.positions[o.symbol] = new_pos
        self._next_trade += 1
        fee = qty * price * (MAKER_FEE if maker else TAKER_FEE)
        fill = SimFill(
            str(self._next_trade), self._snapshot(o), qty, price, fee, maker, o.updated_ms
        )
        self.fills.append(fill)
        return [("fill", fill), ("order", self._snapshot(o))]

    def find(
        self, client_order_id: str | None = None, venue_order_id: str | None = None
    ) -> SimOrder:
        """The order by either id, or ``MatchError("unknown_order")``."""
        o = (
            self.orders.get(client_order_id or "")
            if client_order_id
            else self.by_venue_id.get(venue_order_id or "")
        )
        if o is None:
            raise MatchError("unknown_order")
        return o

    def cancel(
        self, client_order_id: str | None = None, venue_order_id: str | None = None
    ) -> list[Event]:
        o = self.find(client_order_id, venue_order_id)
        if not o.is_open:
            raise MatchError("unknown_order")
        return self._close(o, "CANCELED")

    def cancel_all(self, symbol: str | None) -> list[Event]:
        events: list[Event] = []
        for o in list(self.orders.values()):
            if o.is_open and (symbol is None or o.symbol == symbol):
                events += self._close(o, "CANCELED")
        return events

    def amend(self, o: SimOrder, qty: Decimal | None, price: Decimal | None) -> list[Event]:
        if not o.is_open:
            raise MatchError("unknown_order")
        tick, lot, _ = self.filters.get(
            o.symbol, (Decimal("0.00000001"), Decimal("0.00000001"), Decimal(0))
        )
        if price is not None and price % tick != 0:
            raise MatchError("price_filter")
        if qty is not None and (qty % lot != 0 or qty <= o.filled):
            raise MatchError("lot_filter")
        o.qty = qty if qty is not None else o.qty
        o.price = price if price is not None else o.price
        o.updated_ms = self.now_ms()
        return [("order", self._snapshot(o))]

    def fill(self, client_order_id: str, qty: str, price: str | None = None) -> list[Event]:
        o = self.find(client_order_id)
        if not o.is_open:
            raise MatchError("unknown_order")
        px = Decimal(price) if price is not None else o.price
        assert px is not None
        return self._execute(o, Decimal(qty), px, maker=True)

    def open_orders(self, symbol: str | None) -> list[SimOrder]:
        return [
            o for o in self.orders.values() if o.is_open and (symbol is None or o.symbol == symbol)
        ]
