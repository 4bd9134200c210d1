"""A seeded synthetic L2 market for demos, tests and benchmarks (``tickbot generate``).

Model (all book state in integer ticks and lots; floats only drive the latent fair price):

* a latent fair price follows a random walk (Gaussian, ``sigma_bps`` per sqrt second) with
  Poisson jumps (``jump_rate_per_s``, Gaussian size ``jump_bps``);
* messages arrive as a Poisson process (exponential gaps) over ``duration_s`` of exchange time;
* a message is a trade with probability ``trade_ratio / (1 - trade_ratio)`` per slot (a trade
  slot writes two rows: the trade and the touch update it causes, so ``trade_ratio`` is the share
  of trade *rows*); otherwise it is one depth update;
* trades print at the touch and consume it (the touch level shrinks or disappears); the
  aggressor leans towards the fair price (a stale ask below fair is lifted);
* a share ``informed_share`` of trades is *informed*: its side is drawn at random and the fair
  price then moves ``informed_impact_bps`` its way, so the trade predicts the next move and a
  maker it fills meets adverse selection (0 by default: the benchmark's market stays as it was);
* depth updates churn levels with a bias to the touch (geometric level choice), cancel stale
  touch levels, improve towards the fair price, and keep about ``levels`` levels a side;
  neither a cancel nor a trade ever empties a side, so a mid always exists;
* a new level never crosses the other side, so the book is never crossed or locked at any row;
  every message ends with ``EventFlag.BATCH_END``;
* ``ts_local_ns = max(previous, ts_exch_ns + latency)`` with latency = ``latency_ms`` plus an
  exponential jitter of mean ``jitter_ms`` (one FIFO connection: arrivals never reorder).

The file starts with ``BOOK_CLEAR`` and a full snapshot. Random numbers come from numpy's PCG64
in fixed-size chunks, so the same parameters and seed give byte-identical rows (and file).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from numba import njit

from bot.core.dtypes import EVENT_DTYPE, EventFlag, EventKind, VenueId
from bot.core.instruments import InstrumentSpec
from bot.core.ticks import Grid
from bot.data.csvscan import emit_row
from bot.data.eventfile import EventFileWriter

CHUNK_ROWS = 1 << 18
"""Rows per generated chunk (fixed: it is part of what makes a seed reproducible)."""
START_NS = 1_704_067_200_000_000_000
"""Exchange time of the first event: 2024-01-01T00:00:00Z."""

# istate fields
_N_BID, _N_ASK, _SEQ, _TRADE_ID, _TS_EXCH, _TS_LOCAL, _STARTED = range(7)
# fstate fields
_FAIR, _TS_FRAC = range(2)


@dataclass(frozen=True)
class GenerateParams:
    """Parameters of the synthetic market (defaults: the backtest benchmark's workload)."""

    events: int = 2_000_000
    symbol: str = "BTCUSDT"
    venue: str = "sim"
    tick_size: str = "0.1"
    lot_size: str = "0.001"
    price: str = "60000"
    levels: int = 20
    trade_ratio: float = 0.1
    duration_s: float = 1800.0
    sigma_bps: float = 0.2
    """Diffusion of the fair price, basis points per sqrt(second)."""
    jump_rate_per_s: float = 1 / 30
    jump_bps: float = 0.5
    informed_share: float = 0.0
    """Share of trades that know the next move (adverse selection for makers), in [0, 1]."""
    informed_impact_bps: float = 0.1
    """How far the fair price moves the informed trade's way, basis points."""
    mean_size_lot: float = 300.0
    """Mean size of a touch level, in lots (deeper levels are larger)."""
    latency_ms: float = 2.0
    jitter_ms: float = 0.5
    start_ns: int = START_NS

    def spec(self) -> InstrumentSpec:
        """Return the instrument spec of the generated instrument."""
        return InstrumentSpec(
            venue=self.venue, symbol=self.symbol, tick_size=self.tick_size, lot_size=self.lot_size
        )

    def validate(self) -> None:
        """Raise ``ValueError`` naming the first invalid parameter."""
        if self.levels < 1 or self.levels > 1000:
            raise ValueError(f"levels must be 1..1000, got {self.levels}")
        if self.events < 2 * self.levels + 1:
            raise ValueError(f"events must be at least {2 * self.levels + 1} (the snapshot)")
        if not 0.0 <= self.trade_ratio < 0.5:
            raise ValueError(f"trade-ratio must be in [0, 0.5), got {self.trade_ratio}")
        if not 0.0 <= self.informed_share <= 1.0:
            raise ValueError(f"informed-share must be in [0, 1], got {self.informed_share}")
        if self.informed_impact_bps < 0:
            raise ValueError(f"informed-impact-bps must be >= 0, got {self.informed_impact_bps}")
        if self.duration_s <= 0:
            raise ValueError(f"duration-s must be positive, got {self.duration_s}")
        self.spec().tick.to_units(self.price)  # off-grid price raises OffGridError
        VenueId.from_label(self.venue)
        if self.spec().tick.to_units(self.price) <= 4 * self.levels:
            raise ValueError("price must be well above levels x tick size")


@njit(cache=True)
def _insert(key, qty, n, pos, k, q):
    """Insert level (key k, size q) at ``pos`` of a best-first side; return the new count."""
    for i in range(n, pos, -1):
        key[i] = key[i - 1]
        qty[i] = qty[i - 1]
    key[pos] = k
    qty[pos] = q
    return n + 1


@njit(cache=True)
def _delete(key, qty, n, pos):
    for i in range(pos, n - 1):
        key[i] = key[i + 1]
        qty[i] = qty[i + 1]
    return n - 1


@njit(cache=True)
def _depth_step(key, qty, n, target, limit, levels, u, size):
    """Choose and apply one depth change on one side (keys: bids = price, asks = -price).

    ``target`` is the key the touch should have, ``limit`` the highest key that does not cross
    the other side. Returns ``(new_n, key_changed, new_qty)``.
    """
    a, b = u[4], u[5]
    if n > 0 and key[0] > target and a < 0.8:  # stale touch: cancel it
        if n > 1:
            k = key[0]
            return _delete(key, qty, n, 0), k, 0
        k = min(target, key[0] - 1)  # never empty a side: first quote behind the stale level
        return _insert(key, qty, n, n, k, size), k, size
    if (
        (n == 0 or key[0] < target) and a < 0.8 and n < key.shape[0] - 1
    ):  # behind: improve towards the fair price
        k = min(target, limit)
        if n == 0 or k > key[0]:
            return _insert(key, qty, n, 0, k, size), k, size
    lvl = min(int(np.log(1.0 - b) / np.log(0.7)), n - 1) if n > 0 else 0
    if n == 0:
        k = min(target, limit)
        return _insert(key, qty, n, 0, k, size), k, size
    if n > levels:
        k = key[n - 1]
        return _delete(key, qty, n, n - 1), k, 0
    if n < levels or a >= 0.975:  # add at the far end (sometimes one tick of gap)
        k = key[n - 1] - 1 - (1 if u[7] < 0.1 else 0)
        return _insert(key, qty, n, n, k, size), k, size
    if a < 0.75 or n <= levels // 2:  # resize a level
        qty[lvl] = size
        return n, key[lvl], size
    if a < 0.875:  # delete a level
        k = key[lvl]
        return _delete(key, qty, n, lvl), k, 0
    for p in range(lvl, n - 1):  # fill the first gap at or below the chosen level
        if key[p] - key[p + 1] > 1:
            k = key[p] - 1
            return _insert(key, qty, n, p + 1, k, size), k, size
    k = key[lvl]
    qty[lvl] = size
    return n, k, size


@njit(cache=True)
def _generate_chunk(out, uni, nrm, expo, bkey, bqty, akey, aqty, istate, fstate, params, venue):
    """Fill ``out`` with the next rows of the market; return the number of rows written."""
    levels = int(params[0])
    p_trade, mean_dt_ns, sigma_ticks, jump_p_per_ns, jump_ticks = (
        params[1],
        params[2],
        params[3],
        params[4],
        params[5],
    )
    mean_size, latency_ns, jitter_ns = params[6], params[7], params[8]
    p_informed, informed_ticks = params[9], params[10]
    cap = out.shape[0]
    r = 0
    end = 2
    batch = 2
    snap = 1
    if istate[_STARTED] == 0:
        istate[_STARTED] = 1
        t, tl = istate[_TS_EXCH], istate[_TS_LOCAL]
        tb = int(np.floor(fstate[_FAIR]))
        istate[_SEQ] += 1
        emit_row(out, r, 3, snap, venue, 0, t, tl, 0, 0, istate[_SEQ], 0)
        r += 1
        for i in range(levels):
            q = 1 + int(mean_size * (1.0 + 0.15 * i))
            bkey[i], bqty[i] = tb - i, q
            akey[i], aqty[i] = -(tb + 1 + i), q
        for i in range(levels):
            emit_row(out, r, 1, snap, venue, 0, t, tl, bkey[i], bqty[i], istate[_SEQ], 0)
            r += 1
        for i in range(levels):
            flags = snap | (end if i == levels - 1 else 0)
            emit_row(out, r, 2, flags, venue, 0, t, tl, -akey[i], aqty[i], istate[_SEQ], 0)
            r += 1
        istate[_N_BID], istate[_N_ASK] = levels, levels
    j = 0
    while r < cap and j < uni.shape[0]:
        u = uni[j]
        dt = expo[j] * mean_dt_ns
        fstate[_FAIR] += nrm[j, 0] * sigma_ticks * np.sqrt(dt * 1e-9)
        if u[0] < jump_p_per_ns * dt:
            fstate[_FAIR] += nrm[j, 1] * jump_ticks
        fstate[_TS_FRAC] += dt
        whole = int(fstate[_TS_FRAC])
        fstate[_TS_FRAC] -= whole
        istate[_TS_EXCH] += whole
        t = istate[_TS_EXCH]
        lat = latency_ns - jitter_ns * np.log(1.0 - u[7])
        istate[_TS_LOCAL] = max(istate[_TS_LOCAL], t + int(lat))
        tl = istate[_TS_LOCAL]
        tb = int(np.floor(fstate[_FAIR]))
        nb, na = istate[_N_BID], istate[_N_ASK]
        depth_lvl = min(int(np.log(1.0 - u[5]) / np.log(0.7)), levels)
        size = 1 + int(-np.log(1.0 - u[6]) * mean_size * (1.0 + 0.15 * depth_lvl))
        j += 1
        ask_stale = na > 0 and -akey[0] <= tb
        bid_stale = nb > 0 and bkey[0] > tb
        if u[2] < p_trade and r + 2 <= cap:
            informed = u[1] < p_informed
            buy = u[3] < 0.5 if informed else (ask_stale or (not bid_stale and u[3] < 0.5))
            n_side = na if buy else nb
            touch_qty = (aqty[0] if buy else bqty[0]) if n_side > 0 else 0
            # a trade may empty the touch level but never the last level of a side
            if n_side > 1 or touch_qty > 1:
                istate[_TRADE_ID] += 1
                istate[_SEQ] += 1
                key, qty = (akey, aqty) if buy else (bkey, bqty)
                q = min(qty[0], size) if n_side > 1 else min(qty[0] - 1, size)
                price = -key[0] if buy else key[0]
                kind = 4 if buy else 5
                tid = istate[_TRADE_ID]
                emit_row(out, r, kind, batch, venue, 0, t, tl, price, q, tid, tid)
                left = qty[0] - q
                if left == 0:
                    n = _delete(key, qty, na if buy else nb, 0)
                    if buy:
                        istate[_N_ASK] = n
                    else:
                        istate[_N_BID] = n
                else:
                    qty[0] = left
                book_kind = 2 if buy else 1
                emit_row(
                    out, r + 1, book_kind, batch, venue, 0, t, tl, price, left, istate[_SEQ], 0
                )
                if informed:  # the move it knew of: the book follows through its stale levels
                    fstate[_FAIR] += informed_ticks if buy else -informed_ticks
                r += 2
                continue
        istate[_SEQ] += 1
        # lean towards the side whose touch lags the fair price, so the book keeps up
        bid_side = u[3] < (0.3 if ask_stale else (0.7 if bid_stale else 0.5))
        if bid_side:
            limit = (-akey[0] - 1) if na > 0 else (1 << 62)
            n, k, q = _depth_step(bkey, bqty, nb, tb, limit, levels, u, size)
            istate[_N_BID] = n
            emit_row(out, r, 1, batch, venue, 0, t, tl, k, q, istate[_SEQ], 0)
        else:
            limit = (-bkey[0] - 1) if nb > 0 else (1 << 62)
            n, k, q = _depth_step(akey, aqty, na, -(tb + 1), limit, levels, u, size)
            istate[_N_ASK] = n
            emit_row(out, r, 2, batch, venue, 0, t, tl, -k, q, istate[_SEQ], 0)
        r += 1
    return r


def generate_chunks(params: GenerateParams, seed: int) -> Iterator[np.ndarray]:
    """Yield the market's rows in chunks of ``CHUNK_ROWS`` (the last one shorter)."""
    params.validate()
    spec = params.spec()
    tick = Grid.parse(spec.tick_size)
    price_tick = tick.to_units(params.price)
    rng = np.random.Generator(np.random.PCG64(seed))
    p_slot = params.trade_ratio / (1.0 - params.trade_ratio)
    slots = params.events / (1.0 + p_slot)
    duration_ns = params.duration_s * 1e9
    kernel_params = np.array(
        [
            params.levels,
            p_slot,
            duration_ns / slots,
            price_tick * params.sigma_bps * 1e-4,
            params.jump_rate_per_s * 1e-9,
            price_tick * params.jump_bps * 1e-4,
            params.mean_size_lot,
            params.latency_ms * 1e6,
            params.jitter_ms * 1e6,
            params.informed_share,
            price_tick * params.informed_impact_bps * 1e-4,
        ],
        dtype=np.float64,
    )
    width = 2 * params.levels + 8
    bkey, bqty = np.zeros(width, np.int64), np.zeros(width, np.int64)
    akey, aqty = np.zeros(width, np.int64), np.zeros(width, np.int64)
    istate = np.zeros(7, np.int64)
    istate[_TS_EXCH] = params.start_ns
    istate[_TS_LOCAL] = params.start_ns + int(params.latency_ms * 1e6)
    fstate = np.array([price_tick + 0.5, 0.0])
    venue = int(VenueId.from_label(params.venue))
    left = params.events
    while left > 0:
        n = min(CHUNK_ROWS, left)
        uni = rng.random((n, 8))
        nrm = rng.standard_normal((n, 2))
        expo = rng.standard_exponential(n)
        out = np.zeros(n, dtype=EVENT_DTYPE)
        written = _generate_chunk(
            out, uni, nrm, expo, bkey, bqty, akey, aqty, istate, fstate, kernel_params, venue
        )
        if written != n:  # each slot writes at least one row and a chunk has n slots
            raise RuntimeError(f"generator wrote {written} of {n} rows")
        left -= n
        yield out


def generate_events(params: GenerateParams, seed: int) -> np.ndarray:
    """Return the whole market as one array (tests and small runs)."""
    return np.concatenate(list(generate_chunks(params, seed)))


def generate_file(path: str | Path, params: GenerateParams, seed: int) -> Path:
    """Write the market to an event file; the same params and seed give the same bytes."""
    created = np.datetime_as_string(np.datetime64(params.start_ns, "ns"), unit="s") + "Z"
    extra = {"generator": {"seed": seed, **asdict(params)}}
    source = f"tickbot generate --seed {seed} --events {params.events}"
    with EventFileWriter(path, [params.spec()], source, created_at=created, extra=extra) as writer:
        for chunk in generate_chunks(params, seed):
            writer.write(chunk)
    return writer.path


__all__ = [
    "EventFlag",
    "EventKind",
    "GenerateParams",
    "generate_chunks",
    "generate_events",
    "generate_file",
]
