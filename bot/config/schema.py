"""The strategy config file: one YAML document for backtests, sweeps and (later) ``tickbot run``.

```yaml
strategy:
  name: fixed_spread          # a module strategies/<name>.py
  params: {offset_ticks: 2}   # validated by that strategy's Params struct
instruments:                  # what the strategy trades, by venue and symbol
  - {venue: sim, symbol: BTCUSDT}
risk: {max_position_lot: 50, max_order_lot: 5, max_notional_quote: 100000,
       price_band_bps: 100, max_open_orders: 10, orders_per_s: 50, burst: 100}
backtest:                     # ignored when trading live
  latency: {entry_ms: 5, response_ms: 5}
  queue: {model: power, power: 2}
  fees: {maker_bps: -0.5, taker_bps: 5}
```

Every struct is frozen and rejects unknown fields, so a typo is an error with the field's path,
never a silently ignored key. Reloadable fields (strategy params, risk limits) are marked in
their docstrings; everything else needs a restart.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


class ConfigError(ValueError):
    """A config file is missing, not YAML, or fails validation (the message names the field)."""


class _Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class StrategySection(_Struct, frozen=True):
    """Which strategy runs, and its parameters (``params`` is reloadable)."""

    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z][a-z0-9_]*$")]
    params: dict[str, Any] = msgspec.field(default_factory=dict)


class InstrumentRef(_Struct, frozen=True):
    """An instrument the strategy trades; it must exist in the data (or on the venue)."""

    venue: str
    symbol: Annotated[str, msgspec.Meta(min_length=1)]


class RiskSection(_Struct, frozen=True):
    """Pre-trade limits, applied to every traded instrument (reloadable)."""

    max_position_lot: Annotated[int, msgspec.Meta(ge=0)]
    max_order_lot: Annotated[int, msgspec.Meta(gt=0)]
    max_notional_quote: Positive
    price_band_bps: Positive
    max_open_orders: Annotated[int, msgspec.Meta(gt=0)]
    orders_per_s: Positive
    burst: Annotated[float, msgspec.Meta(ge=1)]
    kill_switch: bool = False


class LatencySection(_Struct, frozen=True):
    """Order-entry latency: constant, or measured values (nanoseconds) from a file."""

    entry_ms: NonNegative = 0.0
    """Local -> venue, milliseconds."""
    response_ms: NonNegative | None = None
    """Venue -> local, milliseconds (default: same as ``entry_ms``)."""
    file: str | None = None
    """A ``.npy`` or text file of measured latencies in ns: one column (both ways) or two
    (entry, response); used in turn, starting at an offset given by the seed."""


class QueueSection(_Struct, frozen=True):
    """How cancels at our price level move our queue position."""

    model: Literal["risk_averse", "proportional", "power"] = "power"
    power: Annotated[float, msgspec.Meta(gt=0, le=10)] = 2.0
    """Exponent of the ``power`` model (``proportional`` is power 1)."""


class FeesSection(_Struct, frozen=True):
    """Fee overrides in basis points of notional (negative = rebate); unset: the specs' rates."""

    maker_bps: Annotated[float, msgspec.Meta(gt=-100, lt=100)] | None = None
    taker_bps: Annotated[float, msgspec.Meta(gt=-100, lt=100)] | None = None


class BacktestSection(_Struct, frozen=True):
    """How the simulated venue behaves and what the report samples."""

    initial_capital_quote: Positive = 100_000.0
    latency: LatencySection = msgspec.field(default_factory=LatencySection)
    queue: QueueSection = msgspec.field(default_factory=QueueSection)
    fees: FeesSection = msgspec.field(default_factory=FeesSection)
    funding: bool = False
    """Charge funding on FUNDING_RATE events (position x mark x rate)."""
    sample_interval_ms: Annotated[float, msgspec.Meta(ge=1)] = 1000.0
    seed: Annotated[int, msgspec.Meta(ge=0)] = 0
    max_orders: Annotated[int, msgspec.Meta(ge=2, le=4096)] = 64
    """Most orders the strategy may have live at once (the order view's size)."""


class StrategyConfig(_Struct, frozen=True):
    """A whole strategy config file."""

    strategy: StrategySection
    instruments: Annotated[list[InstrumentRef], msgspec.Meta(min_length=1)]
    risk: RiskSection
    backtest: BacktestSection = msgspec.field(default_factory=BacktestSection)


def _path_of(e: msgspec.ValidationError) -> str:
    text = str(e)
    if " - at `$." in text:
        message, where = text.rsplit(" - at `$.", 1)
        return f"{where.rstrip('`')}: {message}"
    return text


def parse_config(raw: Any, source: str = "config") -> StrategyConfig:
    """Validate decoded YAML into a ``StrategyConfig``; raise ``ConfigError`` naming the field."""
    if not isinstance(raw, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return msgspec.convert(raw, StrategyConfig, str_keys=True)
    except msgspec.ValidationError as e:
        raise ConfigError(f"{source}: {_path_of(e)}") from None


def load_config(path: str | Path) -> StrategyConfig:
    """Read and validate a strategy config file."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    except OSError as e:
        raise ConfigError(f"{path}: cannot read ({e.strerror})") from None
    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise ConfigError(f"{path}: not valid YAML: {e}") from None
    return parse_config(raw, source=str(path))


def validate_params(params_type: type, raw: dict[str, Any], source: str = "config") -> Any:
    """Validate ``strategy.params`` against a strategy's Params struct (errors name the field)."""
    try:
        return msgspec.convert(raw, params_type, str_keys=True)
    except msgspec.ValidationError as e:
        where = "strategy.params." if " - at `$." in str(e) else "strategy.params: "
        raise ConfigError(f"{source}: {where}{_path_of(e)}") from None
