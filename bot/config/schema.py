"""The config file: one YAML document for backtests, sweeps and ``tickbot run``.

```yaml
strategy:
  name: fixed_spread          # a module strategies/<name>.py
  params: {offset_ticks: 2}   # validated by that strategy's Params struct
instruments:                  # what the strategy trades, by venue and symbol
  - {venue: sim, symbol: BTCUSDT}
risk: {max_position_lot: 50, max_order_lot: 5, max_notional_quote: 100000,
       price_band_bps: 100, max_open_orders: 10, orders_per_s: 50, burst: 100}
backtest:                     # the simulated venue (backtests, and paper/sim order entry)
  latency: {entry_ms: 5, response_ms: 5}
  queue: {model: power, power: 2}
  fees: {maker_bps: -0.5, taker_bps: 5}
# tickbot run only (a backtest ignores these):
mode: sim                     # sim | paper | live (live only when written out)
venues:                       # paper/live: where market data (and live orders) go
  - {name: binance-usdm, environment: testnet}
sim: {seed: 7, speed: 1.0, events_per_s: 200}
metrics: {host: 0.0.0.0, port: 9464}
logging: {level: INFO, format: auto}
journal: {path: /var/lib/tickbot/journal}   # live: the router's; paper: the orders sent
capture: {path: /var/lib/tickbot/capture}   # paper/live: raw market data, as tickbot record
lease: {enabled: false, name: tickbot, duration_s: 15}
runtime: {cpu_affinity: null, gc_freeze: true, shutdown_timeout_s: 10}
```

Every struct is frozen and rejects unknown fields, so a typo is an error with the field's path,
never a silently ignored key. Reloadable fields (strategy params, risk limits, the kill switch)
are marked in their docstrings; everything else needs a restart (``bot.config.reload``).
Credentials are never in the file: a venue names the environment variables or the mounted
Secret directory that hold them.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import msgspec
import yaml

from bot.config.trading import ExecutionSection

Positive = Annotated[float, msgspec.Meta(gt=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]


SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's safe loader where PyYAML was built with it (about 10x faster, same documents),
else the pure-Python one. Safe either way: no Python objects are constructed from tags."""


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
    """Pre-trade limits, applied to every traded instrument (reloadable, the kill switch too)."""

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
    venue_clock: Literal["exchange", "local"] = "exchange"
    """When the simulated venue sees each event: at its exchange time, or at its receive time
    (``local``: as ``tickbot run`` paper mode matches, so a paper session's capture replays to
    the same orders)."""


Mode = Literal["sim", "paper", "live"]
"""``sim``: synthetic market and simulated exchange, no network; ``paper``: live market data,
simulated fills; ``live``: real orders."""

VENUE_NAME_PATTERN = r"^[a-z][a-z0-9-]*$"


ENV_NAME_RE = re.compile(r"[A-Z_][A-Z0-9_]{0,127}", re.ASCII)
"""What an ``*_env`` field may hold: a conventional environment variable name. A key pasted
there by mistake is refused without being echoed (errors are printed and logged)."""


def _check_env_name(field: str, value: str | None) -> None:
    if value is not None and ENV_NAME_RE.fullmatch(value) is None:
        raise ValueError(
            f"{field} must name an environment variable (A-Z, 0-9, _), not hold a key: "
            "the value is not shown"
        )


def check_service_path(field: str, value: str | None) -> None:
    """Refuse a service path (Secret directory, journal) with a ``..`` part or a NUL byte.

    A config pushed to a running pod as a ConfigMap names these; ``..`` would let it point the
    journal or the key files outside the mounted volumes. Backtest paths are the user's own.
    """
    if value is not None and ("\0" in value or ".." in PurePosixPath(value).parts):
        raise ValueError(f"{field} must not contain '..' or a NUL byte, got {value!r:.80}")


class CredentialsSection(_Struct, frozen=True):
    """Where a venue account's keys are: environment variables or a mounted Secret directory.

    Only names live here, never key material. With ``directory`` the files ``api_key``,
    ``api_secret`` (and ``passphrase``) are read from it (a Kubernetes Secret or Key Vault CSI
    volume); otherwise the environment variables named (default ``{VENUE}_API_KEY`` etc.).
    """

    api_key_env: str | None = None
    api_secret_env: str | None = None
    passphrase_env: str | None = None
    directory: str | None = None

    def __post_init__(self) -> None:
        _check_env_name("api_key_env", self.api_key_env)
        _check_env_name("api_secret_env", self.api_secret_env)
        _check_env_name("passphrase_env", self.passphrase_env)
        check_service_path("directory", self.directory)


class VenueSection(_Struct, frozen=True):
    """A venue the bot connects to (restart to change)."""

    name: Annotated[str, msgspec.Meta(pattern=VENUE_NAME_PATTERN)]
    environment: Literal["testnet", "mainnet"] = "testnet"
    ws_url: str | None = None
    """Override of the market-data WebSocket URL (a private endpoint, or loopback in tests)."""
    transport: Literal["aiohttp", "websockets"] | None = None
    """WebSocket client library for market data (None: the default, chosen by measurement)."""
    rest_url: str | None = None
    """Override of the REST base URL (snapshots, instrument specs)."""
    order_url: str | None = None
    """Override of the order-entry base URL (live mode)."""
    order_ws_url: str | None = None
    """Override of the WebSocket order-entry URL (live mode, venues that have one)."""
    user_ws_url: str | None = None
    """Override of the private user-stream WebSocket URL (live mode)."""
    credentials: CredentialsSection | None = None
    """Required in live mode."""


class SimMarketSection(_Struct, frozen=True):
    """The synthetic market of ``mode: sim`` (``bot.data.generate``), played in real time."""

    seed: Annotated[int, msgspec.Meta(ge=0)] = 7
    speed: Annotated[float, msgspec.Meta(gt=0, le=1e6)] = 1.0
    """Market time per wall time (10: ten seconds of market a second)."""
    events_per_s: Annotated[float, msgspec.Meta(gt=0, le=1e6)] = 200.0
    """Book and trade rows per second of market time."""
    price: str = "60000"
    tick_size: str = "0.1"
    lot_size: str = "0.001"
    sigma_bps: NonNegative = 0.2
    """Diffusion of the fair price, basis points per sqrt(second)."""
    levels: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 20
    informed_share: Annotated[float, msgspec.Meta(ge=0, le=1)] = 0.0
    """Share of trades that know the next move (the fair price then moves their way), so a
    maker they fill meets adverse selection; as ``tickbot generate --informed-share``."""
    informed_impact_bps: NonNegative = 0.1
    """How far the fair price moves an informed trade's way, basis points."""


class MetricsSection(_Struct, frozen=True):
    """The one HTTP port: ``/metrics``, ``/healthz``, ``/readyz`` (restart to change)."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 9464
    """0: an ephemeral port (logged at start-up)."""
    health_deadline_s: Positive = 1.0
    """``/healthz`` fails when the trading loop does not answer within this."""


class LoggingSection(_Struct, frozen=True):
    """Log level and format: ``json`` (one object per line), ``text``, or ``auto`` (TTY: text)."""

    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"


class JournalSection(_Struct, frozen=True):
    """The order journal (append-only, replayed at start-up)."""

    path: str | None = None
    """A directory; unset: no journal (sim and paper only)."""

    def __post_init__(self) -> None:
        check_service_path("path", self.path)


class CaptureSection(_Struct, frozen=True):
    """Raw market data of a paper or live run, recorded as ``tickbot record`` does."""

    path: str | None = None
    """A directory (one folder per venue inside); unset: nothing is recorded."""
    rotate_mb: Positive = 256.0
    rotate_minutes: Positive = 60.0

    def __post_init__(self) -> None:
        check_service_path("path", self.path)


class LeaseSection(_Struct, frozen=True):
    """Single active instance: a ``coordination.k8s.io`` Lease held while trading."""

    enabled: bool = False
    name: Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")] = "tickbot"
    namespace: str | None = None
    """Default: the pod's namespace (service-account file or ``POD_NAMESPACE``)."""
    identity: str | None = None
    """Default: ``POD_NAME`` or the host name."""
    duration_s: Annotated[float, msgspec.Meta(ge=1, le=3600)] = 15.0
    renew_every_s: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    api_timeout_s: Positive = 3.0

    def __post_init__(self) -> None:
        if self.renew_every_s >= self.duration_s:
            raise ValueError("renew_every_s must be < duration_s")


class RuntimeSection(_Struct, frozen=True):
    """Process tuning of ``tickbot run`` (restart to change)."""

    cpu_affinity: list[Annotated[int, msgspec.Meta(ge=0)]] | None = None
    """Cores to pin the trading thread to; unset: the cores the process was given."""
    gc_freeze: bool = True
    """``gc.freeze()`` after start-up: start-up objects are never scanned again."""
    shutdown_timeout_s: Positive = 10.0
    """Budget of the cancel-all on SIGTERM."""
    stats_log_interval_s: Positive = 60.0
    """How often tick-to-trade p50/p99 and counters are logged."""


class StrategyConfig(_Struct, frozen=True):
    """A whole config file (backtests read the first four sections, ``tickbot run`` all)."""

    strategy: StrategySection
    instruments: Annotated[list[InstrumentRef], msgspec.Meta(min_length=1)]
    risk: RiskSection
    backtest: BacktestSection = msgspec.field(default_factory=BacktestSection)
    mode: Mode = "sim"
    venues: list[VenueSection] = msgspec.field(default_factory=list)
    sim: SimMarketSection = msgspec.field(default_factory=SimMarketSection)
    metrics: MetricsSection = msgspec.field(default_factory=MetricsSection)
    logging: LoggingSection = msgspec.field(default_factory=LoggingSection)
    journal: JournalSection = msgspec.field(default_factory=JournalSection)
    capture: CaptureSection = msgspec.field(default_factory=CaptureSection)
    lease: LeaseSection = msgspec.field(default_factory=LeaseSection)
    runtime: RuntimeSection = msgspec.field(default_factory=RuntimeSection)
    execution: ExecutionSection = msgspec.field(default_factory=ExecutionSection)


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
        raw = yaml.load(text, Loader=SAFE_LOADER)
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


def run_errors(cfg: StrategyConfig) -> list[str]:
    """Return what makes a valid file unrunnable by ``tickbot run`` in its ``mode``.

    ``sim`` simulates every instrument whatever its venue label (one synthetic market each, no
    network); ``paper`` and ``live`` need every traded venue listed once in ``venues`` and never
    trade ``sim``; ``live`` also needs a journal (the
    router reconciles from it after a restart). Credentials are checked at start-up, where the
    environment and mounted files are visible.
    """
    names = [v.name for v in cfg.venues]
    repeated = sorted({n for n in names if names.count(n) > 1})
    errors = [f"venues: {name} listed more than once" for name in repeated]
    for i, ref in enumerate(cfg.instruments):
        where = f"instruments[{i}].venue"
        if cfg.mode == "sim":
            continue
        if ref.venue == "sim":
            errors.append(f"{where}: mode {cfg.mode} needs a real venue, got 'sim'")
        elif ref.venue not in names:
            errors.append(f"{where}: {ref.venue!r} is not in venues ({', '.join(names) or 'none'})")
    if cfg.mode == "live" and cfg.journal.path is None:
        errors.append("journal.path: required in mode live")
    return errors
