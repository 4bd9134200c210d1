"""Client order ids: format, every venue's rule, uniqueness across restarts."""

from __future__ import annotations

import re

import pytest

from bot.execution.ids import (
    RUN_ID_LEN,
    IdSource,
    client_id,
    new_run_id,
    parse_client_id,
    to_base36,
)

# (venue, rule) from each venue's documentation (docs/execution.md)
VENUE_RULES = {
    "binance-usdm": re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$"),
    "bybit": re.compile(r"^[A-Za-z0-9_-]{1,36}$"),
    "okx": re.compile(r"^[A-Za-z0-9]{1,32}$"),
    "bitget": re.compile(r"^[0-9a-zA-Z+_#-]{1,49}$"),
    "bingx": re.compile(r"^[0-9a-z]{1,40}$"),  # the venue lower-cases: ours must already be
    "bitmex": re.compile(r"^.{1,36}$"),
}
INT64_MAX = (1 << 63) - 1


def test_base36_round_trips() -> None:
    for n in (0, 1, 35, 36, 1295, 1296, INT64_MAX):
        assert int(to_base36(n), 36) == n
    with pytest.raises(ValueError, match="negative"):
        to_base36(-1)


@pytest.mark.parametrize("counter", [1, 36, 10**6, INT64_MAX])
def test_ids_fit_every_venue_rule(counter: int) -> None:
    text = client_id(new_run_id(), counter)
    assert len(text) <= 32
    for venue, rule in VENUE_RULES.items():
        assert rule.match(text), venue


def test_parse_recognises_ours_and_not_foreign_ids() -> None:
    run = new_run_id(now_ms=1_800_000_000_000)
    assert parse_client_id(client_id(run, 12345)) == (run, 12345)
    for foreign in ("web_abc123", "autoclose-123", "adl_autoclose", "x", "ABCDEFGH1"):
        assert parse_client_id(foreign) is None


def test_run_id_is_later_than_the_journaled_one_even_if_the_clock_stepped_back() -> None:
    later = new_run_id(now_ms=1_800_000_000_000)
    earlier_clock = new_run_id(now_ms=1_700_000_000_000, after=later)
    assert len(earlier_clock) == RUN_ID_LEN
    assert earlier_clock > later  # same width, base36 digits sort like numbers


def test_counter_continues_after_restart_so_ids_never_repeat() -> None:
    first = IdSource(new_run_id(now_ms=1_800_000_000_000))
    seen = {first.next() for _ in range(1000)}
    restarted = IdSource(new_run_id(after=first.run_id), last_counter=first.last)
    again = {restarted.next() for _ in range(1000)}
    assert not {c for c, _ in seen} & {c for c, _ in again}
    assert not {t for _, t in seen} & {t for _, t in again}
    assert len({t for _, t in seen}) == 1000
