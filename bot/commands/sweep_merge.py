"""``tickbot sweep --merge DIR``: combine the shards of an Indexed-Job sweep into one ranking.

Each shard (``tickbot sweep --index I --of N``) writes the CSV of its own combinations. Merging
reads every ``*.csv`` in DIR, checks they come from one grid (same columns, no combination twice,
none missing), ranks all rows as one local sweep would, and writes the same CSV and table: the
merged result of N shards equals ``tickbot sweep`` of the whole grid on one machine.
"""

from __future__ import annotations

import csv
from pathlib import Path

from bot.cli import UserError
from bot.commands import sweep

MERGED_NAME = "merged.csv"
"""Default output inside DIR (skipped when reading the shards back)."""
LEAD_COLUMNS = ("rank", "combination")
TAIL_COLUMNS = (*sweep.RESULT_COLUMNS, "error")
TABLE_FLOATS = ("pnl_quote", "sharpe", "max_drawdown_quote", "maker_share")


def _read(files: list[Path]) -> tuple[list[str], list[dict[str, str]]]:
    header: list[str] | None = None
    rows: list[dict[str, str]] = []
    for path in files:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields = list(reader.fieldnames or [])
            if tuple(fields[:2]) != LEAD_COLUMNS or tuple(fields[-len(TAIL_COLUMNS) :]) != (
                TAIL_COLUMNS
            ):
                raise UserError(f"{path}: not a tickbot sweep CSV (columns {fields})")
            if header is None:
                header = fields
            elif fields != header:
                raise UserError(f"{path}: other grid columns than {files[0].name}: {fields}")
            rows.extend(reader)
    assert header is not None
    return header, rows


def _check_complete(rows: list[dict[str, str]]) -> int:
    seen: dict[int, int] = {}
    for r in rows:
        try:
            k = int(r["combination"])
        except ValueError:
            raise UserError(f"bad combination number {r['combination']!r}") from None
        seen[k] = seen.get(k, 0) + 1
    twice = sorted(k for k, n in seen.items() if n > 1)
    if twice:
        raise UserError(f"combinations in more than one shard: {twice[:10]}")
    total = max(seen) + 1
    missing = sorted(set(range(total)) - set(seen))
    if missing:
        raise UserError(
            f"combinations missing: {missing[:10]} (a shard is absent or did not finish)"
        )
    return total


def merge(directory: Path, rank_by: str, out: Path | None) -> int:
    """Merge the shard CSVs in ``directory``; write the ranked CSV and print the table."""
    if not directory.is_dir():
        raise UserError(f"{directory}: no such directory")
    if rank_by not in sweep.RESULT_COLUMNS:
        raise UserError(f"--rank-by: one of {', '.join(sweep.RESULT_COLUMNS)}")
    out = out if out is not None else directory / MERGED_NAME
    files = sorted(p for p in directory.glob("*.csv") if p.resolve() != out.resolve())
    if not files:
        raise UserError(f"{directory}: no shard CSV files")
    header, rows = _read(files)
    if not rows:
        raise UserError(f"{directory}: the shards hold no results")
    total = _check_complete(rows)
    keys = header[len(LEAD_COLUMNS) : -len(TAIL_COLUMNS)]
    ok = [r for r in rows if not r["error"]]
    failed = sorted((r for r in rows if r["error"]), key=lambda r: int(r["combination"]))
    ok.sort(key=lambda r: (-float(r[rank_by]), int(r["combination"])))
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=header)
        w.writeheader()
        for rank, r in enumerate(ok, 1):
            w.writerow({**r, "rank": rank})
        for r in failed:
            w.writerow({**r, "rank": ""})
    shown = [{**r, **{c: float(r[c]) for c in TABLE_FLOATS}} for r in ok]
    errors = [{"combination": r["combination"], "error": r["error"]} for r in failed]
    sweep._table(shown, errors, keys, rank_by, out, total, total)
    return 1 if failed and not ok else 0
