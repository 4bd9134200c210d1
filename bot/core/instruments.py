"""Instrument specifications: the grid every price and size of an instrument lives on.

Specs come from a venue's exchange-info endpoint (adapters) or from a YAML/JSON file that users
write for backtests (``--instruments``). Decimal fields stay strings, so nothing is rounded; the
``InstrumentTable`` turns a list of specs into the numpy arrays the kernels take.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import numpy as np
import yaml

from bot.core.dtypes import VENUE_NAMES, VenueId
from bot.core.ticks import DecimalFormatError, Grid, OffGridError, split_decimal


class InstrumentError(ValueError):
    """An instrument spec is missing, malformed or inconsistent."""


class InstrumentSpec(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One tradable instrument on one venue. Decimal values are exact strings."""

    venue: str
    """Venue id: binance-usdm, bybit, okx, bitget, bingx, bitmex or sim."""
    symbol: str
    """The venue's own symbol, e.g. BTCUSDT, BTC-USDT-SWAP, XBTUSD."""
    tick_size: str
    """Price grid, e.g. "0.1"."""
    lot_size: str
    """Quantity grid, e.g. "0.001" (in the venue's order-quantity unit: coins or contracts)."""
    contract_multiplier: str = "1"
    """Base units per quantity unit (OKX ctVal, BitMEX multiplier); 1 for coin-quantity venues."""
    min_qty: str = "0"
    min_notional: str = "0"
    maker_fee_rate: str = "0"
    """Fraction of notional, e.g. "0.0002"; negative is a rebate."""
    taker_fee_rate: str = "0"
    inverse: bool = False
    """True for inverse (coin-margined) contracts such as BitMEX XBTUSD."""

    @property
    def key(self) -> tuple[str, str]:
        """Return ``(venue, symbol)``, the instrument's identity."""
        return (self.venue, self.symbol)

    @property
    def tick(self) -> Grid:
        """Return the price grid."""
        return Grid.parse(self.tick_size)

    @property
    def lot(self) -> Grid:
        """Return the quantity grid."""
        return Grid.parse(self.lot_size)

    def quote_per_tick_lot(self) -> float:
        """Return the quote-currency value of 1 tick x 1 lot (linear contracts)."""
        return float(
            Decimal(self.tick_size) * Decimal(self.lot_size) * Decimal(self.contract_multiplier)
        )


def _check_spec(spec: InstrumentSpec, where: str) -> None:
    """Raise ``InstrumentError`` naming ``where`` if a field of ``spec`` is invalid."""
    if spec.venue not in VENUE_NAMES.values():
        known = ", ".join(VENUE_NAMES.values())
        raise InstrumentError(f"{where}.venue: unknown venue {spec.venue!r} (known: {known})")
    if not spec.symbol:
        raise InstrumentError(f"{where}.symbol: must not be empty")
    for field in ("tick_size", "lot_size", "contract_multiplier"):
        try:
            Grid.parse(getattr(spec, field))
        except DecimalFormatError as e:
            raise InstrumentError(f"{where}.{field}: {e}") from None
    for field in ("min_qty", "min_notional"):
        try:
            mantissa, _ = split_decimal(getattr(spec, field))
        except DecimalFormatError as e:
            raise InstrumentError(f"{where}.{field}: {e}") from None
        if mantissa < 0:
            raise InstrumentError(f"{where}.{field}: must be >= 0, got {getattr(spec, field)!r}")
    for field in ("maker_fee_rate", "taker_fee_rate"):
        try:
            split_decimal(getattr(spec, field))
        except DecimalFormatError as e:
            raise InstrumentError(f"{where}.{field}: {e}") from None
        if abs(Decimal(getattr(spec, field))) >= 1:
            raise InstrumentError(f"{where}.{field}: a fee rate is a fraction, |rate| < 1")
    try:
        spec.lot.to_units(spec.min_qty)
    except OffGridError:
        raise InstrumentError(
            f"{where}.min_qty: {spec.min_qty!r} is not a multiple of lot_size {spec.lot_size!r}"
        ) from None


def parse_specs(raw: Any, source: str = "instruments") -> list[InstrumentSpec]:
    """Validate decoded YAML/JSON (a list, or ``{"instruments": [...]}``) into specs."""
    if isinstance(raw, dict) and "instruments" in raw:
        raw = raw["instruments"]
    if not isinstance(raw, list):
        raise InstrumentError(f"{source}: expected a list of instrument specs")
    specs: list[InstrumentSpec] = []
    seen: set[tuple[str, str]] = set()
    for i, item in enumerate(raw):
        where = f"{source}[{i}]"
        try:
            spec = msgspec.convert(item, InstrumentSpec, str_keys=True)
        except msgspec.ValidationError as e:
            raise InstrumentError(f"{where}: {e}") from None
        _check_spec(spec, where)
        if spec.key in seen:
            raise InstrumentError(f"{where}: duplicate instrument {spec.venue}:{spec.symbol}")
        seen.add(spec.key)
        specs.append(spec)
    return specs


def load_specs(path: str | Path) -> list[InstrumentSpec]:
    """Load and validate instrument specs from a ``.yaml``/``.yml``/``.json`` file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise InstrumentError(f"{path}: cannot read ({e.strerror})") from None
    try:
        raw = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as e:
        kind = "JSON" if path.suffix == ".json" else "YAML"
        raise InstrumentError(f"{path}: not valid {kind}: {e}") from None
    return parse_specs(raw, source=str(path))


def specs_to_builtins(specs: Iterable[InstrumentSpec]) -> list[dict[str, Any]]:
    """Return specs as plain dicts (for file headers and captures)."""
    return [msgspec.to_builtins(s) for s in specs]


@dataclass(frozen=True)
class InstrumentTable:
    """Specs indexed by instrument id (their position), plus the arrays kernels use."""

    specs: tuple[InstrumentSpec, ...]

    @classmethod
    def of(cls, specs: Sequence[InstrumentSpec]) -> InstrumentTable:
        """Build a table; instrument ids are positions in ``specs``."""
        return cls(tuple(specs))

    def __len__(self) -> int:
        return len(self.specs)

    def id_of(self, venue: str, symbol: str) -> int:
        """Return the instrument id of ``venue:symbol``; raise ``InstrumentError`` if unknown."""
        for i, spec in enumerate(self.specs):
            if spec.venue == venue and spec.symbol == symbol:
                return i
        known = ", ".join(f"{s.venue}:{s.symbol}" for s in self.specs) or "none"
        raise InstrumentError(f"unknown instrument {venue}:{symbol} (known: {known})")

    def venue_ids(self) -> np.ndarray:
        """Return the VenueId of every instrument."""
        return np.array([VenueId.from_label(s.venue) for s in self.specs], dtype=np.uint8)

    def quote_per_tick_lot(self) -> np.ndarray:
        """Return quote value of one tick times one lot, per instrument (for notional checks)."""
        return np.array([s.quote_per_tick_lot() for s in self.specs], dtype=np.float64)

    def fee_rates(self) -> tuple[np.ndarray, np.ndarray]:
        """Return (maker, taker) fee rates per instrument as float64 fractions."""
        maker = np.array([float(Decimal(s.maker_fee_rate)) for s in self.specs])
        taker = np.array([float(Decimal(s.taker_fee_rate)) for s in self.specs])
        return maker, taker
