"""Strategies: a typed Params struct and an @njit decision kernel each; no I/O, no clock.

The contract every strategy module follows is in ``bot.core.strategy_api``.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from types import ModuleType
from typing import Any

import msgspec

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


def available() -> list[str]:
    """Return the names of the strategy modules shipped in this package (sorted)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def reloadable(params_type: type) -> frozenset[str]:
    """Return the fields of a Params struct that a hot reload may change (``RELOADABLE``)."""
    return frozenset(getattr(params_type, "RELOADABLE", frozenset()))


def reload_changes(old: Any, new: Any) -> list[str]:
    """Return the fields a swap from ``old`` to ``new`` would change but may not (sorted).

    Params structs name their hot-reloadable fields in a ``RELOADABLE`` class variable; every
    other field needs a restart (it changes what the strategy's state means). A value that is
    not a msgspec struct (a test strategy's plain params) has nothing to check.
    """
    if not isinstance(old, msgspec.Struct) or not isinstance(new, msgspec.Struct):
        return []
    if type(old) is not type(new):
        return ["<params type>"]
    allowed = reloadable(type(old))
    return sorted(
        f for f in old.__struct_fields__ if f not in allowed and getattr(old, f) != getattr(new, f)
    )
