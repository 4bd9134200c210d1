"""Avellaneda-Stoikov decisions on hand-made books."""

from __future__ import annotations

import math

import msgspec
import numpy as np
import pytest

from bot.core.signal import SIG_VOL
from strategies import avellaneda_stoikov as asm

from .state import T0, State, cancels, news

MID = 100_000


def _state(**kw: object) -> State:
    params = asm.Params(**{"gamma_per_tick": 0.1, "kappa_per_tick": 0.5, "horizon_s": 10.0,
                           "max_spread_ticks": 100, "requote_ticks": 1, **kw})  # fmt: skip
    s = State(asm, params)
    s.two_sided(MID - 5, MID + 5)
    s.sig[0, SIG_VOL] = 2e-5  # 2 ticks per sqrt(s) at this mid
    return s


def _quotes(s: State, pos: int) -> tuple[int, int, float]:
    s.pos[0] = pos
    out = news(s.decide(T0))
    bid = out[out["side"] == 1]["price_tick"]
    ask = out[out["side"] == -1]["price_tick"]
    return (int(bid[0]) if len(bid) else 0), (int(ask[0]) if len(ask) else 0), s.fstate[2]


def test_reservation_price_moves_against_inventory() -> None:
    res = {}
    for pos in (-3, 0, 3):
        s = _state(qty_lot=1, max_inventory_lot=100)
        bid, ask, r = _quotes(s, pos)
        res[pos] = (bid, ask, r)
    assert res[3][2] < res[0][2] < res[-3][2]
    assert res[0][2] == pytest.approx(MID)
    assert res[3][0] < res[0][0]
    assert res[3][1] < res[0][1]
    assert res[-3][0] > res[0][0]
    assert res[-3][1] > res[0][1]


def test_finite_horizon_formula_in_ticks() -> None:
    s = _state(qty_lot=2, max_inventory_lot=100)
    _quotes(s, 4)  # q = 2 quote sizes
    sigma = 2e-5 * MID
    tau = 10.0  # the first call starts the session: T - t = horizon
    r = MID - 2 * 0.1 * sigma**2 * tau
    spread = 0.1 * sigma**2 * tau + 2 / 0.1 * math.log(1 + 0.1 / 0.5)
    assert s.fstate[asm.F_RESERVATION] == pytest.approx(r)
    assert s.fstate[asm.F_SPREAD] == pytest.approx(spread)


def test_infinite_horizon_glft_formula() -> None:
    s = _state(model="infinite", arrival_rate_per_s=2.0, qty_lot=1, max_inventory_lot=100)
    _quotes(s, 1)
    g, k, a, sigma = 0.1, 0.5, 2.0, 2e-5 * MID
    c1 = math.log(1 + g / k) / g
    c2 = math.sqrt(sigma**2 * g / (2 * a * k) * (1 + g / k) ** (1 + k / g))
    assert s.fstate[asm.F_RESERVATION] == pytest.approx(MID - c2)
    assert s.fstate[asm.F_SPREAD] == pytest.approx(2 * c1 + c2)


def test_spread_clamped_to_min_and_max_ticks() -> None:
    bid, ask, _ = _quotes(_state(gamma_per_tick=50.0, kappa_per_tick=50.0, min_spread_ticks=8), 0)
    assert ask - bid >= 8
    bid, ask, _ = _quotes(_state(gamma_per_tick=0.001, max_spread_ticks=6), 0)
    assert ask - bid <= 6


@pytest.mark.parametrize("block", ["halted", "invalid"])
def test_no_quotes_while_halted_or_book_invalid(block: str) -> None:
    s = _state()
    s.rest(1, MID - 3, 1, coid=7)
    if block == "halted":
        s.halt()
    else:
        s.invalid()
    out = s.decide(T0)
    assert len(news(out)) == 0
    assert cancels(out)["client_order_id"].tolist() == [7]  # and it pulls what rests
    assert s.istate[0] == T0 + 100_000_000  # the timer keeps running
    s.orders["status"] = 0  # the cancel was acknowledged
    s.halt(False)
    s.book[0, 8] = 1  # ST_VALID
    assert len(news(s.decide(T0 + 100_000_000))) == 2  # back on


def test_one_sided_at_max_inventory() -> None:
    bid, ask, _ = _quotes(_state(max_inventory_lot=10), 10)
    assert bid == 0
    assert ask > 0
    bid, ask, _ = _quotes(_state(max_inventory_lot=10), -10)
    assert ask == 0
    assert bid > 0


def test_stops_quoting_a_side_one_fill_short_of_the_bound() -> None:
    # 3-lot quotes, 8 long of a 10-lot bound: a bid fill would reach 11, so no bid; the ask
    # (which brings it to 5) stays. Mirrored when short.
    bid, ask, _ = _quotes(_state(qty_lot=3, max_inventory_lot=10), 8)
    assert bid == 0
    assert ask > 0
    bid, ask, _ = _quotes(_state(qty_lot=3, max_inventory_lot=10), -8)
    assert ask == 0
    assert bid > 0
    bid, ask, _ = _quotes(_state(qty_lot=3, max_inventory_lot=10), 7)  # 10 is allowed
    assert bid > 0
    assert ask > 0


def test_requote_threshold_keeps_quotes_within_it() -> None:
    s = _state(requote_ticks=2)
    first = news(s.decide(T0))
    for k, o in enumerate(first):
        s.rest(int(o["side"]), int(o["price_tick"]) + (1 if o["side"] == 1 else -2), 1, 10 + k)
    assert len(s.decide(T0 + 100_000_000)) == 0  # 1 and 2 ticks off: both kept
    s.two_sided(MID + 1, MID + 11)  # the market moves 3 ticks up
    s.level(0, MID - 5, 0)
    s.level(1, MID + 5, 0)
    s.sig[0, 0] = MID + 6
    out = s.decide(T0 + 200_000_000)
    assert len(cancels(out)) == 2
    assert len(news(out)) == 2


def test_kappa_estimator_recovers_the_fill_intensity() -> None:
    s = _state(estimate_kappa=True, estimator_min_fills=10, estimator_half_life_s=1e9)
    kappa, a = 0.4, 3.0
    for b in range(2, 9):  # exposure and fills as lambda(b) = A exp(-kappa b) predicts
        s.fstate[asm.F_EXPOSURE + b] = 1000.0
        s.fstate[asm.F_FILLS + b] = 1000.0 * a * math.exp(-kappa * b)
    s.decide(T0)
    assert s.fstate[asm.F_KAPPA] == pytest.approx(kappa, rel=1e-9)
    assert s.fstate[asm.F_A] == pytest.approx(a, rel=1e-9)


def test_fills_land_in_the_bin_of_the_quoted_distance() -> None:
    s = _state(estimate_kappa=True)
    bid, ask, _ = _quotes(s, 0)
    s.pos[0] = 1  # our bid filled
    s.decide(T0 + 50_000_000, reason=2, inst=0)
    b = round(s.sig[0, 0] - bid)
    sides_in_bin = 1 + (round(ask - s.sig[0, 0]) == b)
    assert s.fstate[asm.F_FILLS + b] == pytest.approx(1.0)
    assert s.fstate[asm.F_FILLS : asm.F_FILLS + asm.N_BINS].sum() == pytest.approx(1.0)
    assert s.fstate[asm.F_EXPOSURE + b] == pytest.approx(0.05 * sides_in_bin, rel=1e-6)
    assert s.fstate[asm.F_KAPPA] == 0.5  # too few fills: the configured kappa


@pytest.mark.parametrize(
    ("field", "value"),
    [("gamma_per_tick", -1), ("gamma_per_tick", 0), ("min_spread_ticks", 0), ("qty_lot", 0)],
)
def test_params_bounds(field: str, value: float) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.convert({field: value}, asm.Params)


def test_min_spread_above_max_is_refused() -> None:
    with pytest.raises(msgspec.ValidationError, match="min_spread_ticks"):
        msgspec.convert({"min_spread_ticks": 10, "max_spread_ticks": 5}, asm.Params)


def test_pack_needs_one_instrument() -> None:
    with pytest.raises(ValueError, match="one instrument"):
        asm.pack(asm.Params(), [0, 1])
    assert np.isfinite(asm.pack(asm.Params(), [0])).all()
