"""Map the symbols found in data files to instrument ids of the output file's spec list."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from bot.core.dtypes import VenueId
from bot.core.instruments import InstrumentSpec
from bot.data.csvscan import ConvertError

TARDIS_EXCHANGE_VENUES: dict[str, str] = {
    "binance-futures": "binance-usdm",
    "binance": "binance-spot",
    "binance-delivery": "binance-coinm",
    "deribit": "deribit",
    "huobi-dm-swap": "huobi-dm-swap",
    "bybit-spot": "bybit-spot",
    "okex": "okx-spot",
    "coinbase": "coinbase",
    "kraken": "kraken",
    "bybit": "bybit",
    "okex-swap": "okx",
    "okex-futures": "okx",
    "bitget-futures": "bitget",
    "bitmex": "bitmex",
}
"""tardis.dev exchange ids and the tickbot venue ids they map to (data-only venues included),
so that spot and derivatives of one symbol from one source are told apart."""


@dataclass
class Resolver:
    """Instrument ids are positions in ``specs``; grids and venues are arrays the kernels take."""

    specs: list[InstrumentSpec]
    tick_mantissa: np.ndarray = field(init=False)
    tick_exponent: np.ndarray = field(init=False)
    lot_mantissa: np.ndarray = field(init=False)
    lot_exponent: np.ndarray = field(init=False)
    venue: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        ticks = [s.tick for s in self.specs]
        lots = [s.lot for s in self.specs]
        self.tick_mantissa = np.array([g.mantissa for g in ticks], dtype=np.int64)
        self.tick_exponent = np.array([g.exponent for g in ticks], dtype=np.int64)
        self.lot_mantissa = np.array([g.mantissa for g in lots], dtype=np.int64)
        self.lot_exponent = np.array([g.exponent for g in lots], dtype=np.int64)
        self.venue = np.array([VenueId.from_label(s.venue) for s in self.specs], dtype=np.uint8)

    def known(self) -> str:
        """Return the known instruments, for error messages."""
        return ", ".join(f"{s.venue}:{s.symbol}" for s in self.specs) or "none"

    def resolve(
        self, symbol: str, where: str, exchange: str | None = None, venue: str | None = None
    ) -> int:
        """Return the id of ``symbol`` on the venue ``exchange`` (a tardis id) or ``venue``
        names, when the symbol is on several; raise if unknown or ambiguous."""
        if not self.specs:
            raise ConvertError(
                f"{where}: the input carries no instrument specs; "
                "pass --instruments SPECS.json|yaml with tick_size and lot_size"
            )
        hits = [i for i, s in enumerate(self.specs) if s.symbol == symbol]
        if venue is None and exchange is not None:
            venue = TARDIS_EXCHANGE_VENUES.get(exchange, exchange)
        if len(hits) > 1 and venue is not None:
            hits = [i for i in hits if self.specs[i].venue == venue]
        if len(hits) == 1:
            return hits[0]
        what = f"{exchange}:{symbol}" if exchange else symbol
        if not hits:
            raise ConvertError(
                f"{where}: unknown instrument {what}; add it to --instruments (known: "
                f"{self.known()})"
            )
        raise ConvertError(
            f"{where}: instrument {what} is on several venues in --instruments "
            f"({self.known()}); name the market in the path (spot, um, cm) or keep one"
        )

    def grid_text(self, instrument: int, price: bool) -> str:
        """Return ``'tick 0.1 of BTCUSDT'``-style text for error messages."""
        spec = self.specs[instrument]
        if price:
            return f"tick_size {spec.tick_size} of {spec.symbol}"
        return f"lot_size {spec.lot_size} of {spec.symbol}"
