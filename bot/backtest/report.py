"""The backtest report folder: stats, fills, series, four PNG plots and an HTML page.

Plots use matplotlib's Agg backend (files only, no display, no GUI toolkit). Prices in the plots
and CSV files are converted from ticks with the instrument's grid (exact decimals in the CSV).
"""

from __future__ import annotations

import csv
import html
import json
from pathlib import Path
from typing import Any

import numpy as np

from bot.backtest.stats import series_of

PLOTS = (
    ("equity.png", "Equity (quote)"),
    ("inventory.png", "Inventory (lots)"),
    ("price_fills.png", "Mid price and our fills"),
    ("spread.png", "Spread (ticks)"),
)


def _plots(bt: Any, out: Path, inst: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = series_of(bt)
    t0 = int(series.ts_ns[0]) if series.ts_ns.size else 0
    minutes = (series.ts_ns - t0) / 60e9
    tick = float(bt.specs[inst].tick_size)
    fills = bt.venue.fill_rows()
    fills = fills[fills["instrument"] == inst]

    def save(name: str, title: str, draw: Any) -> None:
        fig, ax = plt.subplots(figsize=(10, 3.6), dpi=100)
        draw(ax)
        ax.set_title(title)
        ax.set_xlabel("minutes")
        ax.grid(alpha=0.3)
        fig.tight_layout()
        fig.savefig(out / name)
        plt.close(fig)

    save("equity.png", PLOTS[0][1], lambda ax: ax.plot(minutes, series.equity_quote, lw=1))
    save(
        "inventory.png",
        PLOTS[1][1],
        lambda ax: ax.step(minutes, series.position_lot[:, inst], where="post", lw=1),
    )

    def price(ax: Any) -> None:
        ax.plot(minutes, series.mid_tick[:, inst] * tick, lw=0.8, color="0.4", label="mid")
        for side, colour, label in ((1, "tab:green", "buy"), (-1, "tab:red", "sell")):
            f = fills[fills["side"] == side]
            ax.scatter(
                (f["ts_exch_ns"] - t0) / 60e9, f["price_tick"] * tick, s=6, c=colour, label=label
            )
        ax.legend(loc="upper left", fontsize=8)

    save("price_fills.png", PLOTS[2][1], price)
    save("spread.png", PLOTS[3][1], lambda ax: ax.plot(minutes, series.spread_tick[:, inst], lw=1))


def _write_fills(bt: Any, path: Path) -> None:
    fills = bt.venue.fill_rows()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["ts_exch_ns", "ts_local_ns", "venue", "symbol", "client_order_id", "side",
             "liquidity", "price", "qty", "leaves", "fee_quote"]
        )  # fmt: skip
        grids = [(spec, spec.tick, spec.lot) for spec in bt.specs]
        for row in fills:
            spec, tick, lot = grids[int(row["instrument"])]
            w.writerow(
                [
                    int(row["ts_exch_ns"]),
                    int(row["ts_local_ns"]),
                    spec.venue,
                    spec.symbol,
                    int(row["client_order_id"]),
                    "buy" if row["side"] > 0 else "sell",
                    "maker" if row["liquidity"] == 1 else "taker",
                    tick.to_str(int(row["price_tick"])),
                    lot.to_str(int(row["qty_lot"])),
                    lot.to_str(int(row["leaves_lot"])),
                    repr(float(row["fee_quote"])),
                ]
            )


def _html(stats: dict[str, Any], title: str) -> str:
    rows = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(_fmt(v))}</td></tr>"
        for k, v in stats.items()
    )
    imgs = "\n".join(
        f'<figure><img src="{name}" alt="{html.escape(caption)}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
        for name, caption in PLOTS
    )
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1100px}}
table{{border-collapse:collapse}}
th,td{{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left}}
img{{max-width:100%}}</style></head>
<body><h1>{html.escape(title)}</h1>
{imgs}
<h2>Statistics</h2><table>
{rows}
</table>
<p>Files: <a href="stats.json">stats.json</a>, <a href="fills.csv">fills.csv</a>,
<a href="series.csv">series.csv</a></p></body></html>
"""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _write_series(bt: Any, path: Path) -> None:
    s = series_of(bt)
    header = ["ts_ns", "equity_quote"]
    cols: list[np.ndarray] = [s.ts_ns, s.equity_quote]
    for i, spec in enumerate(bt.specs):
        header += [f"{spec.symbol}_position_lot", f"{spec.symbol}_mid_tick"]
        cols += [s.position_lot[:, i], s.mid_tick[:, i]]
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(header)
        for k in range(s.ts_ns.shape[0]):
            w.writerow([c[k].item() for c in cols])


def write_report(bt: Any, stats: dict[str, Any], out: Path, title: str) -> Path:
    """Write the report folder ``out``; return the HTML page's path."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    _write_fills(bt, out / "fills.csv")
    _write_series(bt, out / "series.csv")
    inst = bt.traded[0] if bt.traded else 0
    _plots(bt, out, inst)
    page = out / "index.html"
    page.write_text(_html(stats, title), encoding="utf-8")
    return page
