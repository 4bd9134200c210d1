"""Hot swap for every strategy: the next decision uses only the new params, none mixes both."""

from __future__ import annotations

import msgspec
import pytest

import strategies
from strategies import avellaneda_stoikov, cross_venue_arb, ema_rsi, fixed_spread, imbalance_taker

from .state import T0, State, news

MID = 100_000


def _fixed(qty: int, spread: int) -> State:
    s = State(fixed_spread, fixed_spread.Params(qty_lot=qty, offset_ticks=spread))
    s.two_sided(MID - 1, MID + 1)
    return s


CASES = {
    # name: (module, old params, new params, how to set up the state, the new values' mark)
    "fixed_spread": (fixed_spread, {"qty_lot": 1, "offset_ticks": 2},
                     {"qty_lot": 4, "offset_ticks": 7}),
    "avellaneda_stoikov": (avellaneda_stoikov, {"qty_lot": 1, "min_spread_ticks": 2},
                           {"qty_lot": 4, "min_spread_ticks": 14}),
    "imbalance_taker": (imbalance_taker, {"qty_lot": 1, "slippage_ticks": 0},
                        {"qty_lot": 4, "slippage_ticks": 7}),
    "ema_rsi": (ema_rsi, {"qty_lot": 1, "slippage_ticks": 0},
                {"qty_lot": 4, "slippage_ticks": 7}),
}  # fmt: skip


def _setup(module: object, raw: dict) -> State:
    s = State(module, msgspec.convert(raw, module.Params))
    s.two_sided(MID - 1, MID + 1)
    if module is imbalance_taker:
        s.level(0, MID - 1, 90)
    if module is ema_rsi:
        s.istate[ema_rsi.I_TARGET_LOT] = 100  # far from the position: it trades every wake
    return s


def _marks(module: object, out: object) -> set[tuple[int, int]]:
    """(size, distance from the touch or mid) of every NEW."""
    return {(int(o["qty_lot"]), abs(int(o["price_tick"]) - MID)) for o in out}


@pytest.mark.parametrize("name", sorted(CASES))
def test_swap_between_two_calls_uses_only_the_new_values(name: str) -> None:
    module, old, new = CASES[name]
    before = _setup(module, old)
    out_old = news(before.decide(T0, 1, 0 if module is not fixed_spread else -1))
    s = _setup(module, old)
    s.swap(msgspec.convert(new, module.Params))
    out_new = news(s.decide(T0, 1, 0 if module is not fixed_spread else -1))
    fresh = _setup(module, new)
    out_fresh = news(fresh.decide(T0, 1, 0 if module is not fixed_spread else -1))
    assert len(out_new) > 0
    # identical to a strategy that only ever knew the new params, and unlike the old one
    assert _marks(module, out_new) == _marks(module, out_fresh)
    if module is not ema_rsi:  # ema_rsi sizes by its target (state), not by qty_lot now
        assert all(q == new["qty_lot"] for q, _ in _marks(module, out_new))
    assert not _marks(module, out_new) & _marks(module, out_old)


def test_arb_swap_of_the_margin_switches_the_decision() -> None:
    def state(margin: float) -> State:
        s = State(cross_venue_arb, cross_venue_arb.Params(margin_bps=margin, taker_fee_a_bps=0,
                  taker_fee_b_bps=0), instruments=[0, 1], n=2)  # fmt: skip
        s.two_sided(MID - 2, MID, inst=0)
        s.two_sided(MID + 30, MID + 32, inst=1)  # 3 bps rich
        return s

    s = state(1.0)
    s.swap(cross_venue_arb.Params(margin_bps=5.0, taker_fee_a_bps=0, taker_fee_b_bps=0))
    assert len(s.decide(T0, 0, 0)) == 0
    assert len(state(1.0).decide(T0, 0, 0)) == 2


@pytest.mark.parametrize("name", strategies.available())
def test_every_strategy_marks_its_reloadable_fields(name: str) -> None:
    params = strategies.load(name).Params
    fields = set(params.__struct_fields__)
    marked = strategies.reloadable(params)
    assert marked, "RELOADABLE must list the hot-reloadable fields"
    assert marked <= fields


def test_reload_changes_names_fixed_fields_only() -> None:
    old = ema_rsi.Params()
    assert strategies.reload_changes(old, ema_rsi.Params(qty_lot=5)) == []
    assert strategies.reload_changes(old, ema_rsi.Params(bar="volume", qty_lot=5)) == ["bar"]
