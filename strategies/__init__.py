"""Strategies: a typed Params struct and an @njit decision kernel each; no I/O, no clock.

The contract every strategy module follows is in ``bot.core.strategy_api``. This package is the
one strategy registry: the modules shipped here (``strategies/<name>.py``) and the modules other
installed distributions register under the ``tickbot.strategies`` entry-point group
(``name = "package.module"``, what ``tickbot new-strategy`` scaffolds). A shipped strategy wins
over a plugin of the same name, so installing a package never changes what a config means.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from dataclasses import dataclass
from importlib import metadata
from types import ModuleType
from typing import Any

import msgspec

ENTRY_POINT_GROUP = "tickbot.strategies"
"""Entry-point group of strategies installed from other distributions."""
BUILTIN = "built-in"
"""The ``source`` of a strategy shipped in this package."""

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


NAME_PATTERN = r"[a-z][a-z0-9_]*"
"""What a strategy name may look like (it is also a Python identifier)."""


def builtin() -> list[str]:
    """Return the names of the strategy modules shipped in this package (sorted)."""
    return sorted(m.name for m in pkgutil.iter_modules(__path__) if not m.name.startswith("_"))


def plugins() -> dict[str, metadata.EntryPoint]:
    """Return the ``tickbot.strategies`` entry points of installed distributions, by name.

    Names that are not valid strategy names, or that a shipped strategy already has, are left
    out (``load`` could never reach them).
    """
    shipped = set(builtin())
    found: dict[str, metadata.EntryPoint] = {}
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        if re.fullmatch(NAME_PATTERN, ep.name) and ep.name not in shipped:
            found.setdefault(ep.name, ep)
    return found


def available() -> list[str]:
    """Return every strategy name a config may use: shipped ones and plugins (sorted)."""
    return sorted({*builtin(), *plugins()})


def load(name: str) -> ModuleType:
    """Import strategy ``name`` (shipped or plugin) and check it has what the engine needs."""
    if not re.fullmatch(NAME_PATTERN, name):
        raise UnknownStrategyError(f"bad strategy name {name!r}")
    if name in builtin():
        module = importlib.import_module(f"strategies.{name}")
    else:
        ep = plugins().get(name)
        if ep is None:
            raise UnknownStrategyError(f"unknown strategy {name!r}")
        try:
            module = ep.load()
        except (ImportError, AttributeError) as e:
            raise UnknownStrategyError(
                f"strategy {name!r} ({ep.value}, entry point {ENTRY_POINT_GROUP}) "
                f"does not import: {e}"
            ) from None
        if not isinstance(module, ModuleType):
            raise UnknownStrategyError(
                f"strategy {name!r}: entry point {ep.value!r} must name a module, not "
                f"{type(module).__name__}"
            )
    missing = [attr for attr in _REQUIRED if not hasattr(module, attr)]
    if missing:
        raise UnknownStrategyError(f"strategy {name!r} lacks {', '.join(missing)}")
    if name != module.NAME:
        raise UnknownStrategyError(f"strategy {name!r}: its module says NAME = {module.NAME!r}")
    return module


@dataclass(frozen=True, slots=True)
class StrategyInfo:
    """What ``tickbot strategies`` lists about one strategy."""

    name: str
    source: str
    """``built-in``, or the distribution (``name version``) that registered it."""
    module: str
    summary: str
    """The first line of the module's docstring."""
    wakes_on: tuple[str, ...]
    uses_signals: bool
    params: tuple[str, ...]
    reloadable: tuple[str, ...]


def _source(name: str) -> str:
    if name in builtin():
        return BUILTIN
    dist = plugins()[name].dist
    return f"{dist.name} {dist.version}" if dist is not None else "plugin"


def describe(name: str) -> StrategyInfo:
    """Return what strategy ``name`` is and does (it is loaded, so its contract is checked)."""
    module = load(name)
    doc = (module.__doc__ or "").strip()
    wakes = ["timer"]
    if module.WAKE_ON_EVENT:
        wakes.append("events")
    if module.WAKE_ON_ORDER:
        wakes.append("orders")
    params = module.Params
    fields = tuple(getattr(params, "__struct_fields__", ()))
    return StrategyInfo(
        name=name,
        source=_source(name),
        module=module.__name__,
        summary=doc.splitlines()[0] if doc else "",
        wakes_on=tuple(wakes),
        uses_signals=bool(module.USES_SIGNALS),
        params=fields,
        reloadable=tuple(sorted(reloadable(params))),
    )


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
