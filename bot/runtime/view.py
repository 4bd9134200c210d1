"""The live terminal view of ``tickbot run`` on a TTY (rich), refreshed a few times a second.

Per instrument: the book top, our quotes (best live buy and sell), position and PnL; below:
tick-to-trade p50/p99, market-data messages per second, risk rejections and connection states.
It only reads the core's arrays and the exporter's totals (off the hot path, like metrics).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from bot.core.book import ST_BEST_ASK, ST_BEST_BID, ST_VALID
from bot.runtime.core import TradingCore
from bot.runtime.export import Totals

REFRESH_S = 0.25


def _quotes(core: TradingCore, inst: int) -> tuple[int | None, int | None]:
    view = core.view
    live = view[(view["status"] != 0) & (view["instrument"] == inst)]
    buys = live["price_tick"][live["side"] > 0]
    sells = live["price_tick"][live["side"] < 0]
    return (int(buys.max()) if buys.size else None, int(sells.min()) if sells.size else None)


def _us(seconds: float) -> str:
    return "-" if math.isnan(seconds) else f"{seconds * 1e6:.1f} us"


class TerminalView:
    """Render the core's state on a terminal until cancelled."""

    def __init__(
        self,
        core: TradingCore,
        totals: Callable[[], Totals],
        messages: Callable[[], int],
        connections: Callable[[], dict[str, bool]],
        console: Console | None = None,
    ) -> None:
        self.core = core
        self.totals = totals
        self.messages = messages
        self.connections = connections
        self.console = console or Console()
        self._last = (time.monotonic(), 0)
        self._rate = 0.0

    def render(self) -> Group:
        """Return the current view."""
        core = self.core
        table = Table(title="tickbot", expand=False)
        for col in ("instrument", "bid", "ask", "our bid", "our ask", "position", "PnL"):
            table.add_column(col, justify="right" if col != "instrument" else "left")
        t = self.totals()
        for inst, spec in enumerate(core.specs):
            tick = spec.tick
            valid = core.lstate[inst, ST_VALID] != 0
            bid, ask = int(core.lstate[inst, ST_BEST_BID]), int(core.lstate[inst, ST_BEST_ASK])
            ours = _quotes(core, inst)
            pnl = 0.0
            if inst < len(t.realized_pnl_quote):
                pnl = t.realized_pnl_quote[inst] + t.unrealized_pnl_quote[inst]
            table.add_row(
                f"{spec.venue}:{spec.symbol}" + ("" if valid else " (out of sync)"),
                tick.to_str(bid) if valid else "-",
                tick.to_str(ask) if valid else "-",
                "-" if ours[0] is None else tick.to_str(ours[0]),
                "-" if ours[1] is None else tick.to_str(ours[1]),
                str(int(core.pos_local[inst])),
                f"{pnl:,.2f}",
            )
        now, msgs = time.monotonic(), self.messages()
        then, before = self._last
        if now - then >= 1.0:
            self._rate = (msgs - before) / (now - then)
            self._last = (now, msgs)
        links = ", ".join(f"{k} {'up' if v else 'DOWN'}" for k, v in self.connections().items())
        footer = Text(
            f"tick-to-trade p50 {_us(t.t2t_p50_s)} p99 {_us(t.t2t_p99_s)} | "
            f"{self._rate:,.0f} msg/s | orders {t.orders:,} fills {t.fills:,} | "
            f"risk rejections {t.risk_rejections:,} | {links or 'no venues'}"
            + ("" if core.quoting else " | NOT QUOTING")
            + (" | KILL SWITCH" if core.halted else "")
        )
        return Group(table, footer)

    async def run(self) -> None:
        """Refresh until cancelled."""
        with Live(
            self.render(), console=self.console, refresh_per_second=4, transient=False
        ) as live:
            while True:
                await asyncio.sleep(REFRESH_S)
                live.update(self.render())
