"""The backtest report folder: one self-contained HTML page, stats, fills and series; PNGs on ask.

``index.html`` works offline: plotly.js is embedded in the page (no CDN, no other file), and its
charts zoom and pan: mid price with the best bid/ask and our fills, inventory, equity with its
PnL split over time (spread capture, fees/rebates, inventory and funding), the split at the end,
the spread, and the queue wait of each maker fill. Below them the summary table (the same
rows as the console), every stat, and what the run used: the config (as given), each data file
with the SHA-256 of its header (the header carries the rows' CRC-32, so it names the data) and
the tickbot version. Long runs are thinned to at most ``MAX_POINTS`` samples per chart (every
k-th sample; the caption says so); fills are never thinned.

``--png`` also writes the four PNG plots (matplotlib's Agg backend: files only, no display) for
pasting into notes. Prices are converted from ticks with the instrument's grid (exact decimals
in the CSV files).

plotly and matplotlib are the ``report`` extra (``pip install 'tickbot[report]'``, part of the
dev install), not runtime dependencies: the container image, which runs the bot and sweep
shards, leaves their ~140 MB out. Without plotly the folder still gets stats.json, fills.csv
and series.csv, and the caller says the page was skipped.
"""

from __future__ import annotations

import csv
import hashlib
import html
import importlib.util
import json
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bot import __version__
from bot.backtest.sim_types import VI_QUOTE_PER_TICK_LOT
from bot.backtest.stats import series_of
from bot.backtest.summary import flat_rows, summary_rows

PLOTS = (
    ("equity.png", "Equity (quote)"),
    ("inventory.png", "Inventory (lots)"),
    ("price_fills.png", "Mid price and our fills"),
    ("spread.png", "Spread (ticks)"),
)
MAX_POINTS = 20_000
REPORT_EXTRA = "pip install 'tickbot[report]'"


def has_package(name: str) -> bool:
    """Return whether ``name`` can be imported here (the report extra is optional)."""
    return importlib.util.find_spec(name) is not None


"""Samples per chart at most (a browser draws more, but slowly; the CSV has every sample)."""
NS_PER_MIN = 60e9
_PREAMBLE = struct.Struct("<8sII")


def header_sha256(path: Path) -> str:
    """Return the SHA-256 of an event file's JSON header (padding excluded)."""
    with path.open("rb") as f:
        _, length, _ = _PREAMBLE.unpack(f.read(_PREAMBLE.size))
        return hashlib.sha256(f.read(length).rstrip(b" ")).hexdigest()


@dataclass(frozen=True)
class Chart:
    """One interactive chart: its element id, caption and the points of each trace."""

    div_id: str
    caption: str
    figure: Any
    """A ``plotly.graph_objects.Figure``."""

    def points(self) -> dict[str, int]:
        """Return the number of points per trace name (what the page must show)."""
        out = {}
        for trace in self.figure.data:
            if trace.type == "heatmap":  # cells, empty ones included
                out[str(trace.name)] = sum(len(row) for row in trace.z)
            else:
                out[str(trace.name)] = len(trace.y if trace.y is not None else [])
        return out


def _stride(n: int) -> int:
    return max(1, -(-n // MAX_POINTS))


def pnl_split_at(bt: Any, ts_ns: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return cumulative spread capture and fees (quote, all instruments) at each time."""
    fills = bt.venue.fill_rows()
    qptl = bt.venue.vinst[fills["instrument"], VI_QUOTE_PER_TICK_LOT]
    edge = fills["side"] * (fills["mid_tick"] - fills["price_tick"]) * fills["qty_lot"] * qptl
    capture = np.concatenate(([0.0], np.cumsum(np.nan_to_num(edge, nan=0.0))))
    fees = np.concatenate(([0.0], np.cumsum(fills["fee_quote"])))
    idx = np.searchsorted(fills["ts_exch_ns"], ts_ns, side="right")
    return capture[idx], fees[idx]


def charts(bt: Any, stats: dict[str, Any]) -> list[Chart]:
    """Return the report's charts for the first traded instrument."""
    import plotly.graph_objects as go

    inst = bt.traded[0] if bt.traded else 0
    series = series_of(bt)
    n = int(series.ts_ns.shape[0])
    k = _stride(n)
    thin = f" (every {k}th of {n:,} samples)" if k > 1 else ""
    t0 = int(series.ts_ns[0]) if n else 0
    minutes = ((series.ts_ns[::k] - t0) / NS_PER_MIN).tolist()
    tick = float(bt.specs[inst].tick_size)
    mid = series.mid_tick[::k, inst] * tick
    half = series.spread_tick[::k, inst] * tick / 2
    fills = bt.venue.fill_rows()
    fills = fills[fills["instrument"] == inst]
    symbol = bt.specs[inst].symbol

    def layout(title: str, y: str) -> dict[str, Any]:
        return {
            "title": {"text": title},
            "xaxis": {"title": {"text": "minutes"}},
            "yaxis": {"title": {"text": y}},
            "height": 360,
            "margin": {"l": 70, "r": 20, "t": 40, "b": 45},
            "legend": {"orientation": "h"},
            "hovermode": "x",
        }

    price = go.Figure(layout=layout(f"{symbol}: mid, best bid/ask and our fills", "price"))
    price.add_scatter(x=minutes, y=(mid - half).tolist(), name="best bid", line={"width": 0.6})
    price.add_scatter(x=minutes, y=(mid + half).tolist(), name="best ask", line={"width": 0.6})
    price.add_scatter(x=minutes, y=mid.tolist(), name="mid", line={"width": 1, "color": "#555"})
    for side, colour, name in ((1, "#2ca02c", "our buys"), (-1, "#d62728", "our sells")):
        f = fills[fills["side"] == side]
        price.add_scatter(
            x=((f["ts_exch_ns"] - t0) / NS_PER_MIN).tolist(),
            y=(f["price_tick"] * tick).tolist(),
            name=name,
            mode="markers",
            marker={"size": 5, "color": colour},
        )
    inventory = go.Figure(layout=layout(f"{symbol}: inventory", "lots"))
    inventory.add_scatter(
        x=minutes, y=series.position_lot[::k, inst].tolist(), name="position", line_shape="hv"
    )
    initial = float(stats["initial_capital_quote"])
    sample_ts = series.ts_ns[::k]
    pnl = series.equity_quote[::k] - initial
    capture, fees = pnl_split_at(bt, sample_ts)
    equity = go.Figure(layout=layout("Equity: PnL and where it came from", "quote"))
    equity.add_scatter(x=minutes, y=pnl.tolist(), name="PnL", line={"width": 2})
    equity.add_scatter(x=minutes, y=capture.tolist(), name="spread capture")
    equity.add_scatter(x=minutes, y=(-fees).tolist(), name="fees/rebates")
    equity.add_scatter(
        x=minutes, y=(pnl - capture + fees).tolist(), name="inventory (mark-to-market) + funding"
    )
    makers = fills[fills["liquidity"] == 1]
    queue = go.Figure(layout={**layout(f"{symbol}: queue wait of each maker fill", "seconds"),
                              "hovermode": "closest"})  # fmt: skip
    queue.add_scatter(
        x=((makers["ts_exch_ns"] - t0) / NS_PER_MIN).tolist(),
        y=((makers["ts_exch_ns"] - makers["ts_rest_ns"]) / 1e9).tolist(),
        name="queue wait",
        mode="markers",
        marker={"size": 4},
    )
    split = go.Figure(layout={**layout("Where the PnL came from", "quote"), "hovermode": "closest"})
    parts = {
        "spread capture": stats["spread_capture_quote"],
        "inventory (mark-to-market)": stats["inventory_pnl_quote"],
        "fees/rebates": -stats["fees_quote"],
        "funding": -stats["funding_quote"],
        "total": stats["pnl_quote"],
    }
    split.add_bar(x=list(parts), y=list(parts.values()), name="PnL split")
    split.update_xaxes(title={"text": ""})
    spread = go.Figure(layout=layout(f"{symbol}: spread", "ticks"))
    spread.add_scatter(x=minutes, y=series.spread_tick[::k, inst].tolist(), name="spread")
    return [
        Chart("chart-price", "Mid price, best bid/ask and our fills" + thin, price),
        Chart("chart-inventory", "Inventory" + thin, inventory),
        Chart("chart-equity", "Equity with its PnL split over time" + thin, equity),
        Chart("chart-pnl-split", "PnL split at the end (quote)", split),
        Chart("chart-spread", "Spread (ticks)" + thin, spread),
        Chart(
            "chart-queue-wait",
            "Time from resting to each maker fill (partial fills of one order: one point each)",
            queue,
        ),
    ]


def _plots(bt: Any, out: Path, inst: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = series_of(bt)
    t0 = int(series.ts_ns[0]) if series.ts_ns.size else 0
    minutes = (series.ts_ns - t0) / NS_PER_MIN
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
                (f["ts_exch_ns"] - t0) / NS_PER_MIN, f["price_tick"] * tick, s=6, c=colour,
                label=label,
            )  # fmt: skip
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


ORDER_ACTIONS = {1: "new", 2: "cancel", 3: "amend", 4: "cancel_all"}


def _write_orders(bt: Any, path: Path) -> None:
    """Every request the strategy sent after risk, in order (what a paper journal holds)."""
    rows = bt.request_rows()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            ["ts_venue_ns", "op", "venue", "symbol", "side", "client_order_id", "price", "qty",
             "price_tick", "qty_lot", "flags"]
        )  # fmt: skip
        grids = [(spec, spec.tick, spec.lot) for spec in bt.specs]
        for row in rows:
            spec, tick, lot = grids[int(row["instrument"])]
            px, qty = int(row["price_tick"]), int(row["qty_lot"])
            w.writerow(
                [
                    int(row["ts_ns"]),
                    ORDER_ACTIONS.get(int(row["action"]), str(int(row["action"]))),
                    spec.venue,
                    spec.symbol,
                    "buy" if row["side"] > 0 else "sell",
                    int(row["client_order_id"]),
                    tick.to_str(px) if px else "",
                    lot.to_str(qty) if qty else "",
                    px,
                    qty,
                    int(row["flags"]),
                ]
            )


def table(rows: Sequence[tuple[str, str]], css: str = "") -> str:
    """Return ``(label, text)`` rows as an HTML table (escaped)."""
    body = "\n".join(
        f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows
    )
    return f'<table class="{css}">\n{body}\n</table>'


@dataclass(frozen=True)
class RunInfo:
    """What a run used, for the report's provenance section."""

    config_path: Path | None = None
    data_paths: Sequence[Path] = ()
    grid_path: Path | None = None


def provenance(info: RunInfo) -> str:
    """Return the "what this run used" HTML: version, data files and their hashes, config."""
    parts = [f"<p>tickbot {html.escape(__version__)}</p>"]
    if info.data_paths:
        rows = []
        for p in info.data_paths:
            try:
                digest = header_sha256(Path(p))
            except (OSError, struct.error):
                digest = "unreadable"
            rows.append((str(p), f"header sha256 {digest}"))
        parts.append("<h3>Data files</h3>" + table(rows, "files"))
    for what, path in (("Config", info.config_path), ("Grid", info.grid_path)):
        if path is None:
            continue
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as e:
            text = f"(cannot read: {e.strerror})"
        parts.append(
            f"<h3>{what} {html.escape(str(path))}</h3>"
            f'<pre id="{what.lower()}">{html.escape(text)}</pre>'
        )
    return "\n".join(parts)


_STYLE = """body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1200px;padding:0 1em}
table{border-collapse:collapse;margin-bottom:1em}
th,td{padding:2px 10px;border-bottom:1px solid #ddd;text-align:left;vertical-align:top}
td{font-variant-numeric:tabular-nums}
pre{background:#f6f6f6;padding:.8em;overflow:auto}
figure{margin:0 0 1em 0}figcaption{color:#555;font-size:.9em}
details summary{cursor:pointer;margin:.5em 0}"""


def page(
    title: str,
    chart_list: Sequence[Chart],
    sections: Sequence[tuple[str, str]],
    extra_head: str = "",
) -> str:
    """Return a self-contained HTML page: plotly.js inline, then each chart, then ``sections``.

    ``sections`` are ``(heading, html)`` pairs. The page lists each chart's expected points per
    trace in ``data-points`` (JSON) so a browser test can compare them with what plotly drew.
    """
    from plotly.offline import get_plotlyjs

    figures = []
    for c in chart_list:
        spec = c.figure.to_json()
        figures.append(
            f'<figure><div id="{c.div_id}" class="chart" '
            f"data-points='{html.escape(json.dumps(c.points()))}'></div>"
            f"<figcaption>{html.escape(c.caption)}</figcaption></figure>\n"
            f'<script type="application/json" id="{c.div_id}-spec">{_script_safe(spec)}</script>'
        )
    body = "\n".join(f"<h2>{html.escape(h)}</h2>\n{content}" for h, content in sections)
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>
<style>{_STYLE}</style>
<script>{get_plotlyjs()}</script>{extra_head}</head>
<body><h1>{html.escape(title)}</h1>
{"".join(figures)}
{body}
<script>
for (const el of document.querySelectorAll("div.chart")) {{
  const spec = JSON.parse(document.getElementById(el.id + "-spec").textContent);
  Plotly.newPlot(el, spec.data, spec.layout, {{responsive: true, displaylogo: false}});
}}
document.body.dataset.rendered = "yes";
</script></body></html>
"""


def _script_safe(text: str) -> str:
    """Return JSON that cannot close its ``<script>`` element early."""
    return text.replace("</", "<\\/")


def write_report(
    bt: Any,
    stats: dict[str, Any],
    out: Path,
    title: str,
    info: RunInfo | None = None,
    png: bool = False,
    html_page: bool = True,
) -> Path:
    """Write the report folder ``out``; return the HTML page's path (the folder without a page).

    ``html_page=False`` writes only the data files: what a machine without plotly can write.
    """
    out.mkdir(parents=True, exist_ok=True)
    (out / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    _write_fills(bt, out / "fills.csv")
    _write_orders(bt, out / "orders.csv")
    _write_series(bt, out / "series.csv")
    inst = bt.traded[0] if bt.traded else 0
    if png:
        _plots(bt, out, inst)
    files = (
        '<p>Full precision: <a href="stats.json">stats.json</a>, '
        '<a href="fills.csv">fills.csv</a>, <a href="orders.csv">orders.csv</a>, '
        '<a href="series.csv">series.csv</a>'
        + (
            "; PNG: " + ", ".join(f'<a href="{n}">{html.escape(n)}</a>' for n, _ in PLOTS)
            if png
            else ""
        )
        + "</p>"
    )
    sections = [
        ("Summary", table(summary_rows(stats), "summary")),
        ("Every statistic", f"<details><summary>show</summary>{table(flat_rows(stats))}"
         "</details>" + files),
        ("Run", provenance(info if info is not None else RunInfo())),
    ]  # fmt: skip
    if not html_page:
        return out
    path = out / "index.html"
    path.write_text(page(title, charts(bt, stats), sections), encoding="utf-8")
    return path


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
