"""A strategy that replays a script of intents at given local times (engine scenario tests).

Params are rows of ``(t_local_ns, action, side, price_tick, qty_lot, flags, coid)``: at the first
call at or after ``t_local_ns`` the row becomes one intent (``coid`` names the order a CANCEL or
AMEND targets; the engine numbers NEW orders 1, 2, 3, ... in the order it sends them).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numba import njit

NAME = "scripted"
USES_SIGNALS = True
WAKE_ON_EVENT = True
WAKE_ON_ORDER = True
ISTATE_SIZE = 3
FSTATE_SIZE = 1
_COLS = 7

Params = list


def pack(params: Sequence[tuple[int, ...]], instruments: Sequence[int]) -> np.ndarray:
    """Flatten the script rows."""
    return np.array([float(v) for row in params for v in row], dtype=np.float64)


@njit(cache=True, nogil=True)
def decide(
    now_ns, reason, inst, book_qty, book_state, sig, orders, position_lot,
    params, istate, fstate, intents,
) -> int:  # fmt: skip
    """Emit every script row that is due; wake at the next one."""
    rows = params.shape[0] // _COLS
    k = istate[2]  # slots 0 and 1 are the engine's
    n = 0
    while k < rows and params[k * _COLS] <= now_ns and n < intents.shape[0]:
        it = intents[n]
        it["action"] = int(params[k * _COLS + 1])
        it["side"] = int(params[k * _COLS + 2])
        it["price_tick"] = int(params[k * _COLS + 3])
        it["qty_lot"] = int(params[k * _COLS + 4])
        it["flags"] = int(params[k * _COLS + 5])
        it["client_order_id"] = int(params[k * _COLS + 6])
        it["instrument"] = 0
        it["ts_local_ns"] = now_ns
        n += 1
        k += 1
    istate[2] = k
    istate[0] = int(params[k * _COLS]) if k < rows else 0
    return n
