"""``OrderEntry`` and ``UserStream`` of the ``sim`` venue (see ``exchange.py``)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import numpy as np

from bot.adapters.sim.exchange import SimExchange, StreamClosedError
from bot.adapters.trading import (
    AmendRequest,
    BalanceReport,
    Capabilities,
    FillReport,
    OrderRejectedError,
    OrderReport,
    OrderRequest,
    PositionReport,
    RejectReason,
    StreamConnected,
    UsageHook,
    WriteHook,
)
from bot.backtest import sim_types as st
from bot.core.dtypes import OrderAction, OrderFlag, OrderStatus, VenueId

SIM_CAPABILITIES = Capabilities(
    amend=True, cancel_all=True, dead_man_switch=True, ws_order_entry=False, max_client_id_len=36
)
_REJECTS = {
    st.VenueReject.POST_ONLY: RejectReason.POST_ONLY_WOULD_CROSS,
    st.VenueReject.UNKNOWN_ORDER: RejectReason.UNKNOWN_ORDER,
    st.VenueReject.NO_LIQUIDITY: RejectReason.OTHER,
    st.VenueReject.TOO_MANY_ORDERS: RejectReason.OTHER,
}
_LIVE = (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)


def _reject(r: np.void) -> OrderRejectedError:
    """Return the typed error of a reject or cancel-reject row."""
    code = int(r["reason"])
    try:
        known = st.VenueReject(code)
    except ValueError:
        return OrderRejectedError(RejectReason.OTHER, str(code), "rejected")
    return OrderRejectedError(_REJECTS[known], str(code), known.name.lower().replace("_", " "))


class SimOrderEntry:
    """Order entry on a ``SimExchange`` (the router's ``OrderEntry`` contract)."""

    capabilities = SIM_CAPABILITIES

    def __init__(self, exchange: SimExchange, on_usage: UsageHook | None = None) -> None:
        self.ex = exchange
        self.venue: VenueId = exchange.venue_id
        self.on_usage = on_usage
        """Kept for the contract's shape; the sim has no venue-side limits to report."""

    async def submit(self, req: OrderRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Send a new order; return the venue's acknowledgement."""
        x = self.ex.inst(req.symbol)
        px = 0 if req.price is None else x.tick.to_units(req.price)
        qty = x.lot.to_units(req.qty)
        flags = int(req.flags & (OrderFlag.POST_ONLY | OrderFlag.IOC | OrderFlag.MARKET))
        coid = self.ex.coid(req.client_order_id)
        r = await self.ex.request(
            OrderAction.NEW, int(req.side), x.id, coid, px, qty, flags, on_write
        )
        assert r is not None
        if int(r["status"]) == OrderStatus.REJECTED:
            raise _reject(r)
        return self.ex._order_report(req.client_order_id, x, r)

    async def cancel(
        self, symbol: str, client_order_id: str, on_write: WriteHook | None = None
    ) -> OrderReport:
        """Cancel one order; ``OrderRejectedError(UNKNOWN_ORDER)`` if it is no longer open."""
        x = self.ex.inst(symbol)
        coid = self.ex.coid(client_order_id)
        r = await self.ex.request(OrderAction.CANCEL, 0, x.id, coid, on_write=on_write)
        assert r is not None
        if int(r["kind"]) == st.ResponseKind.CANCEL_REJECT:
            raise _reject(r)
        return self.ex._order_report(client_order_id, x, r)

    async def cancel_all(self, symbol: str) -> None:
        """Cancel every open order of ``symbol``."""
        x = self.ex.inst(symbol)
        await self.ex.request(OrderAction.CANCEL_ALL, 0, x.id, 0)

    async def amend(self, req: AmendRequest, on_write: WriteHook | None = None) -> OrderReport:
        """Change price and/or total size of an open order."""
        x = self.ex.inst(req.symbol)
        cur = self.ex.truth.get(req.client_order_id)
        if cur is None or cur.status not in _LIVE:
            raise OrderRejectedError(RejectReason.UNKNOWN_ORDER, "65", "unknown order")
        px = x.tick.to_units(req.price if req.price is not None else (cur.price or "0"))
        total = x.lot.to_units(req.qty if req.qty is not None else cur.qty)
        leaves = total - x.lot.to_units(cur.filled_qty)
        coid = self.ex.coid(req.client_order_id)
        r = await self.ex.request(OrderAction.AMEND, 0, x.id, coid, px, leaves, on_write=on_write)
        assert r is not None
        if int(r["kind"]) == st.ResponseKind.CANCEL_REJECT:
            raise _reject(r)
        return self.ex._order_report(req.client_order_id, x, r)

    async def query_order(self, symbol: str, client_order_id: str) -> OrderReport | None:
        """Return the venue's state of the order, or None if it never saw the id."""
        self.ex.inst(symbol)
        return self.ex.truth.get(client_order_id)

    async def open_orders(self, symbol: str | None = None) -> list[OrderReport]:
        """Return every open order (of ``symbol``, or all)."""
        return [
            r for r in self.ex.truth.values()
            if r.status in _LIVE and (symbol is None or r.symbol == symbol)
        ]  # fmt: skip

    async def recent_fills(self, symbol: str, since_ns: int) -> list[FillReport]:
        """Return the fills of ``symbol`` since ``since_ns`` (venue time)."""
        return [f for f in self.ex.fills if f.symbol == symbol and f.ts_exch_ns >= since_ns]

    async def position(self, symbol: str) -> PositionReport:
        """Return the net position of ``symbol``."""
        x = self.ex.inst(symbol)
        lots = int(self.ex.venue.iacct[x.id, st.I_POSITION])
        return PositionReport(symbol=symbol, qty=x.lot.to_str(lots))

    async def balances(self) -> list[BalanceReport]:
        """Return the quote balance: starting balance plus cash flows (fees included)."""
        cash = float(self.ex.venue.acct[:, st.A_CASH].sum()) + self.ex.starting_balance
        text = f"{cash:.8f}"
        return [BalanceReport(asset=self.ex.balance_asset, total=text, available=text)]

    async def arm_dead_man_switch(self, timeout_s: float) -> None:
        """Arm or refresh the sim's dead-man switch (it cancels all when it runs out)."""
        self.ex.arm(timeout_s)

    async def close(self) -> None:
        """Stop the exchange's pump."""
        await self.ex.close()


class SimUserStream:
    """The sim's user stream: every answer of the venue, as the router's reports."""

    def __init__(self, exchange: SimExchange) -> None:
        self.ex = exchange

    async def reports(self) -> AsyncIterator[OrderReport | FillReport | StreamConnected]:
        """Yield ``StreamConnected``, then reports until a (fault-injected) disconnect."""
        self.ex.ensure_running()
        q = self.ex.subscribe()
        try:
            yield StreamConnected(self.ex.now_ns())
            while True:
                item = await q.get()
                if item is None:
                    raise StreamClosedError("sim user stream disconnected")
                yield item
        finally:
            self.ex.unsubscribe(q)

    async def close(self) -> None:
        """End every session."""
        self.ex.disconnect_streams()
