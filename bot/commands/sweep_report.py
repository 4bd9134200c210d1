"""The sweep's HTML report: the ranked grid and a heatmap for every two swept parameters.

One self-contained offline page like the backtest report (``bot.backtest.report.page``): the
ranked table of every combination (human-formatted; the CSV keeps full precision), one heatmap
of the ranking stat per pair of swept parameters (each cell: the best combination with those
two values, over the other parameters), or a bar chart when only one parameter is swept, and
the combinations that failed with their reason.
"""

from __future__ import annotations

import html
import itertools
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bot.backtest.report import Chart, RunInfo, page, provenance, table
from bot.backtest.summary import number, percent

TABLE_COLUMNS = (
    ("pnl_quote", "PnL", number),
    ("return", "return", percent),
    ("sharpe", "Sharpe", lambda v: number(v, 2)),
    ("sortino", "Sortino", lambda v: number(v, 2)),
    ("max_drawdown_quote", "max drawdown", number),
    ("fees_quote", "fees", number),
    ("fills", "fills", number),
    ("maker_share", "maker share", percent),
    ("orders_sent", "orders", number),
)


def _label(value: Any) -> str:
    return str(value)


def _categories(key: str, grid: dict[str, list[Any]]) -> list[str]:
    return [_label(v) for v in grid[key]]


def heatmaps(ok: Sequence[dict[str, Any]], grid: dict[str, list[Any]], rank_by: str) -> list[Chart]:
    """Return a heatmap of ``rank_by`` per pair of swept parameters (a bar chart for one)."""
    import plotly.graph_objects as go

    swept = [k for k, values in grid.items() if len(values) > 1]
    charts: list[Chart] = []
    if len(swept) == 1:
        (key,) = swept
        best: dict[str, float] = {}
        for r in ok:
            label = _label(r[key])
            best[label] = max(best.get(label, float("-inf")), float(r[rank_by]))
        xs = [c for c in _categories(key, grid) if c in best]
        fig = go.Figure(layout={"title": {"text": f"{rank_by} by {key}"}, "height": 380})
        fig.add_bar(x=xs, y=[best[x] for x in xs], name=rank_by)
        fig.update_xaxes(type="category", title={"text": key})
        charts.append(Chart("sweep-bar", f"best {rank_by} per value of {key}", fig))
    for n, (a, b) in enumerate(itertools.combinations(swept, 2)):
        xs = _categories(a, grid)
        ys = _categories(b, grid)
        z: list[list[float | None]] = [[None] * len(xs) for _ in ys]
        for r in ok:
            i, j = xs.index(_label(r[a])), ys.index(_label(r[b]))
            v = float(r[rank_by])
            cell = z[j][i]
            z[j][i] = v if cell is None else max(cell, v)
        fig = go.Figure(layout={"title": {"text": f"{rank_by}: {a} x {b}"}, "height": 420})
        fig.add_heatmap(
            x=xs, y=ys, z=z, name=f"{a} x {b}", colorscale="RdYlGn", hoverongaps=False,
            colorbar={"title": {"text": rank_by}},
        )  # fmt: skip
        fig.update_xaxes(type="category", title={"text": a})
        fig.update_yaxes(type="category", title={"text": b})
        charts.append(Chart(f"sweep-heatmap-{n}", f"best {rank_by} over the other parameters", fig))
    return charts


def _ranked(ok: Sequence[dict[str, Any]], keys: Sequence[str]) -> str:
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ["#", *keys, *(c[1] for c in TABLE_COLUMNS)]
    )
    body = []
    for rank, r in enumerate(ok, 1):
        cells = [str(rank), *(_label(r[k]) for k in keys)]
        cells += [fmt(r[c]) for c, _, fmt in TABLE_COLUMNS]
        body.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return f'<table class="ranked"><tr>{head}</tr>\n' + "\n".join(body) + "\n</table>"


def write_sweep_report(
    path: Path,
    ok: Sequence[dict[str, Any]],
    failed: Sequence[dict[str, Any]],
    grid: dict[str, list[Any]],
    rank_by: str,
    info: RunInfo,
    csv_path: Path,
) -> Path:
    """Write the sweep's HTML page to ``path`` (rows of ``ok`` already ranked)."""
    keys = list(grid)
    sections = [
        (f"Ranked by {rank_by} ({len(ok)} combinations)", _ranked(ok, keys)),
    ]
    if failed:
        sections.append(
            (
                f"Failed ({len(failed)})",
                table([(f"combination {r['combination']}", str(r["error"])) for r in failed]),
            )
        )
    name = html.escape(csv_path.name)
    csv_link = f'<p>Full precision: <a href="{name}">{name}</a></p>'
    sections.append(("Run", csv_link + provenance(info)))
    title = f"sweep of {info.config_path.name if info.config_path else 'a config'}"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page(title, heatmaps(ok, grid, rank_by), sections), encoding="utf-8")
    return path
