"""Strategies: a typed Params struct and an @njit decision kernel each; no I/O, no clock.

The contract every strategy module follows is in ``bot.core.strategy_api``.
"""

from __future__ import annotations

import importlib
import re
from types import ModuleType

_REQUIRED = (
    "NAME",
    "Params",
    "pack",
    "decide",
    "ISTATE_SIZE",
    "FSTATE_SIZE",
    "USES_SIGNALS",
    "WAKE_ON_EVENT",
    "WAKE_ON_ORDER",
)


class UnknownStrategyError(ValueError):
    """No strategy module of that name, or it does not follow the strategy contract."""


def load(name: str) -> ModuleType:
    """Import ``strategies.<name>`` and check it has everything the engine needs."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise UnknownStrategyError(f"bad strategy name {name!r}")
    try:
        module = importlib.import_module(f"strategies.{name}")
    except ModuleNotFoundError as e:
        if e.name == f"strategies.{name}":
            raise UnknownStrategyError(f"unknown strategy {name!r}") from None
        raise
    missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
    if missing:
        raise UnknownStrategyError(f"strategy {name!r} lacks {', '.join(missing)}")
    return module
