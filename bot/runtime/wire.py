"""Order requests as bytes on a socket: the last step of tick-to-trade.

After risk, the core's dispatch queues each order request as a row of the simulated venue's
request ring. A ``WireWriter`` turns the rows added since the last call into JSON order bodies
(the shape of Bybit v5 ``/v5/order/create`` and ``/cancel``: symbol, side, type, exact decimal
qty and price, time in force, our client order id) in one kernel over a preallocated buffer, and
hands the bytes to a non-blocking socket in one ``send``: no Python object per order, no await.
The write time is the end of tick-to-trade. Used by ``benchmarks/bench_run.py`` and by order
entry that writes straight to a socket.
"""

from __future__ import annotations

import socket
from collections.abc import Sequence

import numpy as np

from bot.backtest.sim_types import VS_REQ_TAIL, kernel
from bot.core.instruments import InstrumentSpec

BUFFER_BYTES = 1 << 16
MAX_SYMBOL = 24

_OPEN = b'{"category":"linear","symbol":"'
_SIDE = b'","side":"'
_BUY = b"Buy"
_SELL = b"Sell"
_TYPE = b'","orderType":"Limit","qty":"'
_PRICE = b'","price":"'
_TIF_GTC = b'","timeInForce":"GTC","orderLinkId":"'
_TIF_POST = b'","timeInForce":"PostOnly","orderLinkId":"'
_TIF_IOC = b'","timeInForce":"IOC","orderLinkId":"'
_CANCEL = b'","orderLinkId":"'
_CLOSE = b'"}\n'


def _arr(b: bytes) -> np.ndarray:
    return np.frombuffer(b, dtype=np.uint8).copy()


PIECES = [_arr(x) for x in (_OPEN, _SIDE, _BUY, _SELL, _TYPE, _PRICE, _TIF_GTC, _TIF_POST,
                             _TIF_IOC, _CANCEL, _CLOSE)]  # fmt: skip


@kernel
def _put(buf, n, piece) -> int:
    for i in range(piece.shape[0]):
        buf[n + i] = piece[i]
    return n + piece.shape[0]


@kernel
def _put_decimal(buf, n, units, mantissa, decimals) -> int:
    """Write ``units * mantissa * 10**-decimals`` as an exact decimal string."""
    v = units * mantissa
    if v < 0:
        buf[n] = 45  # '-'
        n += 1
        v = -v
    tmp = v
    width = 1
    while tmp >= 10:
        tmp //= 10
        width += 1
    if width <= decimals:
        width = decimals + 1
    total = width + (1 if decimals > 0 else 0)
    pos = n + total - 1
    for d in range(width):
        if decimals > 0 and d == decimals:
            buf[pos] = 46  # '.'
            pos -= 1
        buf[pos] = 48 + v % 10
        v //= 10
        pos -= 1
    return n + total


@kernel
def _put_id(buf, n, coid) -> int:
    """Write a client order id in base 36 (lower case)."""
    tmp = coid
    width = 1
    while tmp >= 36:
        tmp //= 36
        width += 1
    pos = n + width - 1
    v = coid
    for _ in range(width):
        d = v % 36
        buf[pos] = 48 + d if d < 10 else 87 + d
        v //= 36
        pos -= 1
    return n + width


@kernel
def encode_requests(req, head, tail, syms, sym_len, grids, p0, p1, p2, p3, p4, p5, p6, p7, p8,
                    p9, p10, buf) -> int:  # fmt: skip
    """Encode request rows ``[head, tail)`` of the ring into ``buf``; return the byte count."""
    mask = req.shape[0] - 1
    n = 0
    for k in range(head, tail):
        r = req[k & mask]
        if n + 512 > buf.shape[0]:
            break
        inst = r["instrument"]
        n = _put(buf, n, p0)
        for i in range(sym_len[inst]):
            buf[n] = syms[inst, i]
            n += 1
        action = r["action"]
        if action == 1:
            n = _put(buf, n, p1)
            n = _put(buf, n, p2 if r["side"] > 0 else p3)
            n = _put(buf, n, p4)
            n = _put_decimal(buf, n, r["qty_lot"], grids[inst, 2], grids[inst, 3])
            n = _put(buf, n, p5)
            n = _put_decimal(buf, n, r["price_tick"], grids[inst, 0], grids[inst, 1])
            flags = r["flags"]
            n = _put(buf, n, p7 if flags & 1 else (p8 if flags & 4 else p6))
        else:
            n = _put(buf, n, p9)
        n = _put_id(buf, n, r["client_order_id"])
        n = _put(buf, n, p10)
    return n


class WireWriter:
    """Write the venue ring's new requests to a connected, non-blocking socket."""

    def __init__(self, sock: socket.socket, specs: Sequence[InstrumentSpec]) -> None:
        self.sock = sock
        n = len(specs)
        self.syms = np.zeros((n, MAX_SYMBOL), dtype=np.uint8)
        self.sym_len = np.zeros(n, dtype=np.int64)
        self.grids = np.zeros((n, 4), dtype=np.int64)
        for i, spec in enumerate(specs):
            raw = spec.symbol.encode()[:MAX_SYMBOL]
            self.syms[i, : len(raw)] = np.frombuffer(raw, dtype=np.uint8)
            self.sym_len[i] = len(raw)
            tick, lot = spec.tick, spec.lot
            self.grids[i] = (
                tick.mantissa * 10 ** max(0, tick.exponent), tick.decimals,
                lot.mantissa * 10 ** max(0, lot.exponent), lot.decimals,
            )  # fmt: skip
        self.buf = np.zeros(BUFFER_BYTES, dtype=np.uint8)
        self.view = memoryview(self.buf.data)
        self.sent = 0
        self.bytes = 0

    def write(self, req: np.ndarray, vs: np.ndarray, head: int) -> None:
        """Encode and send requests ``[head, tail)`` in one ``send``."""
        tail = int(vs[VS_REQ_TAIL])
        n = encode_requests(req, head, tail, self.syms, self.sym_len, self.grids, *PIECES, self.buf)
        if n:
            self.sock.send(self.view[:n])
            self.sent += tail - head
            self.bytes += n
