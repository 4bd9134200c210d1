"""imbalance_taker and cross_venue_arb decisions on hand-made books."""

from __future__ import annotations

import pytest

from strategies import cross_venue_arb as arb
from strategies import imbalance_taker as imb

from .state import T0, State, news

MID = 100_000
EVENT, TIMER, ORDER = 0, 1, 2


def _imb_state(bid_qty: int, ask_qty: int, **kw: object) -> State:
    s = State(imb, imb.Params(**{"imbalance_threshold": 0.5, "micro_threshold_ticks": 0.2,
                                 "target_ticks": 3, "stop_ticks": 2, "max_hold_ms": 1000,
                                 "cooldown_ms": 500, **kw}))  # fmt: skip
    s.two_sided(MID - 1, MID + 1)
    s.level(0, MID - 1, bid_qty)
    s.level(1, MID + 1, ask_qty)
    return s


def test_imbalance_taker_buys_on_a_heavy_bid_with_an_ioc_at_the_ask() -> None:
    s = _imb_state(90, 10)
    out = news(s.decide(T0, EVENT, 0))
    assert len(out) == 1
    assert out[0]["side"] == 1
    assert out[0]["price_tick"] == MID + 1
    assert out[0]["flags"] & 4
    assert s.fstate[imb.F_IMBALANCE] == pytest.approx(0.8)


def test_imbalance_taker_sells_on_a_heavy_ask() -> None:
    out = news(_imb_state(10, 90).decide(T0, EVENT, 0))
    assert out[0]["side"] == -1
    assert out[0]["price_tick"] == MID - 1


def _holding_past_the_stop(**kw: object) -> State:
    """A long entered at the ask (MID + 1), then the book 2 ticks lower: the stop is hit."""
    s = _imb_state(90, 10, **kw)
    s.decide(T0, EVENT, 0)
    s.pos[0] = 1
    s.decide(T0 + 1, ORDER, 0)  # the entry's fill
    s.two_sided(MID - 2, MID)
    s.level(0, MID - 1, 0)
    s.level(1, MID + 1, 0)
    return s


def test_a_taker_does_not_resend_what_risk_refused_and_backs_off_while_it_repeats() -> None:
    s = _holding_past_the_stop(retry_ms=100)
    ms = 1_000_000
    t = T0 + 2
    assert len(news(s.decide(t, EVENT, 0))) == 1  # the stop's exit IOC
    # it never reached the order view and no answer came: risk refused it
    assert len(s.decide(t + ms, EVENT, 0)) == 0
    assert len(s.decide(t + 99 * ms, EVENT, 0)) == 0
    assert s.istate[0] == t + ms + 100 * ms  # a timer for the end of the wait
    assert len(news(s.decide(t + 101 * ms, TIMER, -1))) == 1  # sent again after retry_ms
    assert len(s.decide(t + 102 * ms, EVENT, 0)) == 0  # refused again: the wait doubles
    assert len(s.decide(t + 102 * ms + 199 * ms, EVENT, 0)) == 0
    assert len(news(s.decide(t + 102 * ms + 200 * ms, EVENT, 0))) == 1


def test_a_taker_retries_at_once_when_the_venue_answered() -> None:
    s = _holding_past_the_stop(retry_ms=100)
    t = T0 + 2
    assert len(news(s.decide(t, EVENT, 0))) == 1
    # the IOC reached the venue and expired unfilled: the answer is an order update
    assert len(news(s.decide(t + 1_000_000, ORDER, 0))) == 1


@pytest.mark.parametrize(("bid_qty", "ask_qty", "kw"), [
    (60, 40, {}),  # imbalance 0.2 < 0.5
    (90, 10, {"micro_threshold_ticks": 0.9}),  # microprice only 0.8 ticks above the mid
])  # fmt: skip
def test_imbalance_taker_needs_both_thresholds(bid_qty: int, ask_qty: int, kw: dict) -> None:
    assert len(_imb_state(bid_qty, ask_qty, **kw).decide(T0, EVENT, 0)) == 0


def test_imbalance_taker_blocked_while_halted_or_invalid() -> None:
    s = _imb_state(90, 10)
    s.halt()
    assert len(s.decide(T0, EVENT, 0)) == 0
    s = _imb_state(90, 10)
    s.invalid()
    assert len(s.decide(T0, EVENT, 0)) == 0


def test_imbalance_taker_cooldown_then_exit_on_target_stop_or_time() -> None:
    s = _imb_state(90, 10)
    assert len(s.decide(T0, EVENT, 0)) == 1
    s.pos[0] = 1  # the IOC filled at the ask (MID + 1)
    assert len(s.decide(T0 + 1_000_000, ORDER, 0)) == 0  # holding; the target is 3 ticks away
    s.pos[0] = 0
    s.istate[imb.I_LAST_POS] = 0
    assert len(s.decide(T0 + 2_000_000, EVENT, 0)) == 0  # cooldown after the entry
    # exits: target (mid up 3 from the entry touch), stop (down 2), holding time
    for shift, dt_ns in ((3, 0), (-2, 0), (0, 1_000_000_000)):
        s = _imb_state(90, 10)
        s.decide(T0, EVENT, 0)
        s.pos[0] = 1
        s.decide(T0 + 1, ORDER, 0)
        if shift:
            s.two_sided(MID + shift, MID + shift + 2)
            s.level(0, MID - 1, 0)
            s.level(1, MID + 1, 0)
        out = news(s.decide(T0 + 2 + dt_ns, EVENT, 0))
        assert len(out) == 1, shift
        assert (out[0]["side"], out[0]["qty_lot"]) == (-1, 1), shift


def _arb_state(bid_b: int, ask_a: int, depth: int = 10, **kw: object) -> State:
    s = State(arb, arb.Params(**{"qty_lot": 5, "taker_fee_a_bps": 2.0, "taker_fee_b_bps": 3.0,
                                 "margin_bps": 1.0, **kw}), instruments=[0, 1], n=2)  # fmt: skip
    s.two_sided(ask_a - 2, ask_a, qty=depth, inst=0)
    s.two_sided(bid_b, bid_b + 2, qty=depth, inst=1)
    return s


def test_arb_fires_only_above_fees_plus_margin() -> None:
    # 2 + 3 fee + 1 margin = 6 bps of a mid near 100,030 ticks: 60.02 ticks
    for gap in (59, 60):
        below = _arb_state(MID + gap, MID)
        assert len(below.decide(T0, EVENT, 0)) == 0
        assert below.fstate[arb.F_LAST_EDGE_BPS] < 0
    above = _arb_state(MID + 61, MID)
    out = news(above.decide(T0, EVENT, 0))
    legs = {(int(o["instrument"]), int(o["side"])): int(o["price_tick"]) for o in out}
    assert legs == {(0, 1): MID, (1, -1): MID + 61}
    assert above.fstate[arb.F_LAST_EDGE_BPS] == pytest.approx(61 / 100_030.5 * 1e4 - 6)
    assert (out["flags"] & 4).all()
    assert (out["qty_lot"] == 5).all()


def test_arb_needs_depth_for_the_size() -> None:
    assert len(_arb_state(MID + 100, MID, depth=4, depth_levels=1).decide(T0, EVENT, 0)) == 0


def test_arb_not_while_halted() -> None:
    s = _arb_state(MID + 100, MID)
    s.halt()
    assert len(s.decide(T0, EVENT, 0)) == 0


def test_arb_hedges_a_failed_leg_then_unwinds_after_the_timeout() -> None:
    s = _arb_state(MID + 100, MID, leg_timeout_ms=100)
    assert len(s.decide(T0, EVENT, 0)) == 2
    s.pos[0] = 5  # the buy on A filled, the sell on B did not
    out = news(s.decide(T0 + 1_000_000, ORDER, 1))
    assert len(out) == 1
    assert (out[0]["instrument"], out[0]["side"], out[0]["qty_lot"]) == (1, -1, 5)
    assert out[0]["price_tick"] >= (MID + 100) * (1 - 5e-4)
    assert out[0]["flags"] == 4
    # the hedge's IOC came back unfilled (an order update), and the timeout has passed
    out = news(s.decide(T0 + 200_000_000, ORDER, 1))
    assert (out[0]["instrument"], out[0]["side"], out[0]["qty_lot"]) == (0, -1, 5)
    assert out[0]["flags"] & 8  # market IOC on the venue holding the excess
    assert s.istate[arb.I_UNWINDS] == 1


def test_arb_keeps_each_venue_within_its_bound() -> None:
    s = _arb_state(MID + 100, MID, max_position_lot=5)
    s.pos[:] = [5, -5]
    assert len(s.decide(T0, EVENT, 0)) == 0


def test_arb_requires_matching_grids() -> None:
    from bot.core.instruments import InstrumentSpec

    a = InstrumentSpec(venue="sim", symbol="X", tick_size="0.1", lot_size="0.001")
    b = InstrumentSpec(venue="bybit", symbol="X", tick_size="0.01", lot_size="0.001")
    with pytest.raises(ValueError, match="tick and lot"):
        arb.check_instruments(arb.Params(), [a, b])
    arb.check_instruments(arb.Params(), [a, a])
