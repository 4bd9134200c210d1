"""Hand-made engine state for calling a strategy's ``decide`` directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from bot.core.book import ST_VALID, apply_level, new_books
from bot.core.dtypes import ORDER_INTENT_DTYPE
from bot.core.signal import new_signals
from bot.core.strategy_api import ISTATE_HALTED, ISTATE_USER, new_order_view

T0 = 1_000_000_000_000


@dataclass
class State:
    """Everything ``decide`` takes, for ``n`` instruments."""

    module: ModuleType
    params: Any
    instruments: list[int] = field(default_factory=lambda: [0])
    n: int = 1

    def __post_init__(self) -> None:
        self.qty, self.book = new_books(self.n, 4096)
        self.sig, _, _ = new_signals(self.n)
        self.orders = new_order_view(16)
        self.pos = np.zeros(self.n, dtype=np.int64)
        self.p = self.module.pack(self.params, self.instruments)
        self.istate = np.zeros(max(ISTATE_USER, self.module.ISTATE_SIZE), dtype=np.int64)
        self.fstate = np.zeros(max(1, self.module.FSTATE_SIZE))
        self.intents = np.zeros(32, dtype=ORDER_INTENT_DTYPE)

    def level(self, side: int, price: int, qty: int, inst: int = 0) -> None:
        apply_level(self.qty, self.book, inst, side, price, qty)

    def two_sided(self, bid: int, ask: int, qty: int = 10, inst: int = 0) -> None:
        self.level(0, bid, qty, inst)
        self.level(1, ask, qty, inst)
        self.sig[inst, 0] = 0.5 * (bid + ask)

    def invalid(self, inst: int = 0) -> None:
        self.book[inst, ST_VALID] = 0

    def halt(self, on: bool = True) -> None:
        self.istate[ISTATE_HALTED] = 1 if on else 0

    def rest(self, side: int, price: int, qty: int, coid: int, inst: int = 0) -> None:
        slot = int(np.flatnonzero(self.orders["status"] == 0)[0])
        o = self.orders[slot]
        o["status"], o["side"], o["instrument"] = 2, side, inst
        o["client_order_id"], o["price_tick"], o["qty_lot"] = coid, price, qty

    def swap(self, params: Any) -> None:
        """What ``Backtest.swap_params`` does: copy the new array over the old one."""
        self.params = params
        self.p[:] = self.module.pack(params, self.instruments)

    def decide(self, now: int, reason: int = 1, inst: int = -1) -> np.ndarray:
        n = self.module.decide(
            now, reason, inst, self.qty, self.book, self.sig, self.orders, self.pos, self.p,
            self.istate, self.fstate, self.intents,
        )  # fmt: skip
        return self.intents[:n].copy()


def news(intents: np.ndarray) -> np.ndarray:
    return intents[intents["action"] == 1]


def cancels(intents: np.ndarray) -> np.ndarray:
    return intents[intents["action"] == 2]
