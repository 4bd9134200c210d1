"""The ``trading`` section of the run config: venue accounts, journal, shutdown, credentials.

```yaml
trading:
  accounts:
    - venue: binance-usdm
      environment: testnet          # or mainnet; testnet is the default
      credentials:                  # names of env vars or files, never the secrets
        api_key_env: BINANCE_API_KEY
        api_secret_file: /var/run/secrets/tickbot/binance-secret
      orphans: cancel               # or adopt: open orders on the venue the bot does not know
      dead_man_timeout_s: 60
  journal: {dir: /var/lib/tickbot/journal, rotate_mib: 64, fsync_interval_ms: 20}
  shutdown_deadline_s: 20
```

Credentials are loaded by ``load_credentials`` from the environment or from files (a mounted
Kubernetes Secret) and only into ``bot.adapters.trading.Credentials``, whose repr hides them;
no error message here ever contains a secret's value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import yaml

from bot.adapters.trading import Credentials
from bot.core.dtypes import VENUE_NAMES

Positive = Annotated[float, msgspec.Meta(gt=0)]


class TradingConfigError(ValueError):
    """The trading section or a credential source is invalid (the message names the field)."""


class _Struct(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class CredentialsSection(_Struct):
    """Where an account's key material comes from: an env var or a file per item."""

    api_key_env: str | None = None
    api_key_file: str | None = None
    api_secret_env: str | None = None
    api_secret_file: str | None = None
    passphrase_env: str | None = None
    """OKX and Bitget need a passphrase too."""
    passphrase_file: str | None = None


class AccountSection(_Struct):
    """One venue account the bot trades."""

    venue: str
    environment: Literal["testnet", "mainnet"] = "testnet"
    credentials: CredentialsSection | None = None
    """Required for every venue but ``sim``."""
    orphans: Literal["cancel", "adopt"] = "cancel"
    dead_man_timeout_s: Annotated[float, msgspec.Meta(ge=3, le=300)] = 60.0
    """Cancel-on-disconnect window (venues clamp it: OKX 10-120 s, BingX 10-120 s)."""
    dead_man_refresh_s: Positive | None = None
    """Re-arm interval; default a third of the timeout."""
    request_timeout_s: Annotated[float, msgspec.Meta(gt=0, le=60)] = 10.0


class JournalSection(_Struct):
    """Where and how the order journal is written."""

    dir: str = "journal"
    rotate_mib: Annotated[float, msgspec.Meta(ge=0.01, le=4096)] = 64.0
    fsync_interval_ms: Annotated[float, msgspec.Meta(gt=0, le=1000)] = 20.0
    keep_files: Annotated[int, msgspec.Meta(ge=2)] = 8


class TradingSection(_Struct):
    """Everything live order entry needs besides the strategy and risk sections."""

    accounts: Annotated[list[AccountSection], msgspec.Meta(min_length=1)]
    journal: JournalSection = msgspec.field(default_factory=JournalSection)
    shutdown_deadline_s: Annotated[float, msgspec.Meta(gt=0, le=300)] = 20.0

    def account(self, venue: str) -> AccountSection:
        """Return the account of ``venue``; raise ``TradingConfigError`` if none."""
        for a in self.accounts:
            if a.venue == venue:
                return a
        raise TradingConfigError(f"trading.accounts: no account for venue {venue!r}")


def check_trading(section: TradingSection) -> None:
    """Raise ``TradingConfigError`` for what the schema cannot express."""
    seen: set[str] = set()
    for i, a in enumerate(section.accounts):
        where = f"trading.accounts[{i}]"
        if a.venue not in VENUE_NAMES.values():
            known = ", ".join(VENUE_NAMES.values())
            raise TradingConfigError(f"{where}.venue: unknown venue {a.venue!r} (known: {known})")
        if a.venue in seen:
            raise TradingConfigError(f"{where}.venue: a second account for {a.venue}")
        seen.add(a.venue)
        if a.venue != "sim" and a.credentials is None:
            raise TradingConfigError(f"{where}.credentials: required for {a.venue}")
        if a.dead_man_refresh_s is not None and a.dead_man_refresh_s >= a.dead_man_timeout_s:
            raise TradingConfigError(
                f"{where}.dead_man_refresh_s: must be below dead_man_timeout_s"
            )


def parse_trading(raw: Any, source: str = "trading") -> TradingSection:
    """Validate a decoded ``trading`` mapping."""
    try:
        section = msgspec.convert(raw, TradingSection, str_keys=True)
    except msgspec.ValidationError as e:
        raise TradingConfigError(f"{source}: {e}") from None
    check_trading(section)
    return section


def load_trading(path: str | Path) -> tuple[TradingSection, dict[str, Any]]:
    """Return the ``trading`` section of a run config file, and the whole decoded document."""
    path = Path(path)
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise TradingConfigError(f"{path}: cannot read ({e.strerror})") from None
    except yaml.YAMLError as e:
        raise TradingConfigError(f"{path}: not valid YAML: {e}") from None
    if not isinstance(doc, dict) or "trading" not in doc:
        raise TradingConfigError(f"{path}: no 'trading' section")
    return parse_trading(doc["trading"], f"{path}: trading"), doc


def _one(env_name: str | None, file_name: str | None, what: str, venue: str) -> str | None:
    if env_name is not None and file_name is not None:
        raise TradingConfigError(f"{venue} credentials: {what} from both an env var and a file")
    if env_name is not None:
        value = os.environ.get(env_name)
        if not value:
            raise TradingConfigError(f"{venue} credentials: env var {env_name} is not set")
        return value
    if file_name is not None:
        try:
            value = Path(file_name).read_text(encoding="utf-8").strip()
        except OSError as e:
            raise TradingConfigError(
                f"{venue} credentials: cannot read {what} file {file_name} ({e.strerror})"
            ) from None
        if not value:
            raise TradingConfigError(f"{venue} credentials: {what} file {file_name} is empty")
        return value
    return None


def load_credentials(account: AccountSection) -> Credentials | None:
    """Return the account's key material (None for ``sim``), from env vars or files."""
    c = account.credentials
    if c is None:
        return None
    key = _one(c.api_key_env, c.api_key_file, "api key", account.venue)
    secret = _one(c.api_secret_env, c.api_secret_file, "api secret", account.venue)
    if key is None or secret is None:
        raise TradingConfigError(f"{account.venue} credentials: need an api key and a secret")
    passphrase = _one(c.passphrase_env, c.passphrase_file, "passphrase", account.venue)
    return Credentials(api_key=key, api_secret=secret, passphrase=passphrase)
