"""Fixed-spread decisions on hand-made books: quotes inside the touch, inventory bound."""

from __future__ import annotations

import pytest

from strategies import fixed_spread as fs

from .state import T0, State, cancels, news


def _state(**kw: object) -> State:
    s = State(fs, fs.Params(**{"offset_ticks": 0, "qty_lot": 2, **kw}))  # type: ignore[arg-type]
    s.two_sided(100, 101)
    return s


def _sides(intents: object) -> dict[int, int]:
    out = news(intents)  # type: ignore[arg-type]
    return {int(o["side"]): int(o["price_tick"]) for o in out}


def test_quotes_stay_strictly_inside_the_touch_of_a_one_tick_book() -> None:
    s = _state()
    assert _sides(s.decide(T0)) == {1: 100, -1: 101}  # never at or through the opposite touch


@pytest.mark.parametrize(
    ("pos", "sides"),
    [(0, {1, -1}), (8, {1, -1}), (9, {-1}), (-9, {1}), (-8, {1, -1})],
)
def test_stops_quoting_the_side_whose_fill_would_breach(pos: int, sides: set[int]) -> None:
    s = _state(max_inventory_lot=10)
    s.pos[0] = pos
    assert set(_sides(s.decide(T0))) == sides


def test_pulls_a_resting_quote_on_the_side_that_would_breach() -> None:
    s = _state(max_inventory_lot=10)
    s.rest(1, 100, 2, coid=5)  # a bid already at the target price
    s.pos[0] = 9
    out = s.decide(T0)
    assert [int(c["client_order_id"]) for c in cancels(out)] == [5]
    assert set(_sides(out)) == {-1}


def test_no_bound_by_default() -> None:
    s = _state()
    s.pos[0] = 1_000_000
    assert set(_sides(s.decide(T0))) == {1, -1}
