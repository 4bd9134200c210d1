"""The benchmark's fixed-spread maker on hftbacktest (run by bench_backtest in its own venv).

Usage: ``python hft_fixed_spread.py DATA.npz REPEATS``. Prints one JSON line: the first run
(including numba compilation of the strategy, or loading it from the cache), the warm runs'
loop times, the fill count and the process's peak RSS. Never imported by tickbot.
"""

import json
import sys
import time

T_START = time.perf_counter()

import numpy as np  # noqa: E402
from hftbacktest import (  # noqa: E402
    BUY,
    GTX,
    LIMIT,
    BacktestAsset,
    HashMapMarketDepthBacktest,
)
from numba import njit  # noqa: E402

INTERVAL_NS = 100_000_000
LATENCY_NS = 5_000_000


def _peak_rss_bytes() -> int:
    """This process's peak RSS (VmHWM). Not ru_maxrss: Linux carries the parent's high-water
    mark across fork and exec, so a child started by a big benchmark process reported the
    parent's figure."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


@njit(cache=True)
def fixed_spread(hbt, interval_ns: int, lot: float, tick: float) -> int:
    """Every interval: bid floor(mid) - 2 ticks, ask ceil(mid) + 2 ticks; cancel other prices."""
    order_id = 1
    sent = 0
    while hbt.elapse(interval_ns) == 0:
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        bid = depth.best_bid_tick
        ask = depth.best_ask_tick
        if bid <= -(1 << 62) or ask >= (1 << 62) or bid >= ask:
            continue
        total = bid + ask
        bid_t = total // 2 - 2
        ask_t = -((-total) // 2) + 2
        have_bid = False
        have_ask = False
        values = hbt.orders(0).values()
        while values.has_next():
            o = values.get()
            if o.side == BUY:
                if o.price_tick == bid_t and not have_bid:
                    have_bid = True
                elif o.cancellable:
                    hbt.cancel(0, o.order_id, False)
            else:
                if o.price_tick == ask_t and not have_ask:
                    have_ask = True
                elif o.cancellable:
                    hbt.cancel(0, o.order_id, False)
        if not have_bid:
            hbt.submit_buy_order(0, order_id, bid_t * tick, lot, GTX, LIMIT, False)
            order_id += 1
            sent += 1
        if not have_ask:
            hbt.submit_sell_order(0, order_id, ask_t * tick, lot, GTX, LIMIT, False)
            order_id += 1
            sent += 1
    return sent


def make(data: np.ndarray):
    """Build the backtest: 5 ms each way, power-2 probabilistic queue, -0.5 bp / 5 bp fees."""
    asset = (
        BacktestAsset()
        .data([data])
        .linear_asset(1.0)
        .constant_order_latency(LATENCY_NS, LATENCY_NS)
        .power_prob_queue_model(2.0)
        .no_partial_fill_exchange()  # partial_fill_exchange stops with InvalidOrderStatus (14)
        # when a fill exactly exhausts an order (hftbacktest issue #312); our quotes are 1 lot,
        # so partial fills cannot occur and the no-partial exchange is the same model here.
        .trading_value_fee_model(-0.00005, 0.0005)
        .tick_size(0.1)
        .lot_size(0.001)
        .last_trades_capacity(0)
    )
    return HashMapMarketDepthBacktest([asset])


def main() -> None:
    data = np.load(sys.argv[1])["data"]
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    t = time.perf_counter()
    hbt = make(data)
    sent = fixed_spread(hbt, INTERVAL_NS, 0.001, 0.1)
    position = hbt.position(0)
    hbt.close()
    first_s = time.perf_counter() - T_START
    first_loop_s = time.perf_counter() - t
    warm = []
    for _ in range(repeats):
        hbt = make(data)
        t = time.perf_counter()
        fixed_spread(hbt, INTERVAL_NS, 0.001, 0.1)
        warm.append(time.perf_counter() - t)
        hbt.close()
    print(
        json.dumps(
            {
                "events": int(data.shape[0]),
                "first_run_s": first_s,
                "first_loop_s": first_loop_s,
                "warm_loop_s": warm,
                "orders_sent": int(sent),
                "position_lot": float(position) / 0.001,
                "peak_rss_bytes": _peak_rss_bytes(),
            }
        )
    )


if __name__ == "__main__":
    main()
