"""Whole-file config checks and the JSON schema (``tickbot config validate`` / ``schema``).

``msgspec.convert`` stops at the first bad field; a user fixing a file wants every error at once,
each with the path of the field (``strategy.params.gamma_per_tick: must be > 0, got -1``). So
the check walks the structs field by field: each value is converted alone against its annotated
type, nested structs and lists of structs are walked, unknown and missing fields are reported,
and a struct whose fields all pass is converted whole (its cross-field ``__post_init__`` checks).
``strategy.params`` is checked against the named strategy's ``Params``.

The schema is msgspec's JSON schema of ``StrategyConfig`` with ``strategy`` narrowed to one
variant per shipped strategy (``name`` constant, ``params`` that strategy's ``Params``), so an
editor or ``values.schema.json`` validates the params too.
"""

from __future__ import annotations

import functools
import typing
from typing import Any

import msgspec
from msgspec import inspect as mi

import strategies
from bot.config.schema import StrategyConfig, run_errors

_BOUNDS = (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<="))


def _join(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _number_types(t: mi.Type) -> list[mi.Type]:
    if isinstance(t, mi.UnionType):
        return [u for u in t.types if isinstance(u, mi.IntType | mi.FloatType)]
    return [t] if isinstance(t, mi.IntType | mi.FloatType) else []


def _message(e: msgspec.ValidationError, t: mi.Type, value: Any) -> str:
    """Say what is wrong with ``value``: bounds as ``must be > 0, got -1``, else msgspec's text."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        for nt in _number_types(t):
            for attr, op in _BOUNDS:
                bound = getattr(nt, attr)
                if bound is None:
                    continue
                ok = {
                    ">": value > bound,
                    ">=": value >= bound,
                    "<": value < bound,
                    "<=": value <= bound,
                }[op]
                if not ok:
                    return f"must be {op} {bound}, got {value!r}"
    text = str(e)
    return text.split(" - at `$", 1)[0]


@functools.cache
def _struct_info(cls: type) -> tuple[mi.StructType, dict[str, Any], dict[str, mi.Field]]:
    """The struct's msgspec info, type hints and fields by name, computed once per class:
    ``mi.type_info`` walks the whole type tree, which cost most of a config check."""
    info = mi.type_info(cls)
    assert isinstance(info, mi.StructType)
    hints = typing.get_type_hints(cls, include_extras=True)
    return info, hints, {f.encode_name: f for f in info.fields}


def _check_struct(cls: type, raw: Any, path: str, errors: list[str]) -> None:
    where = path or "<top>"
    if not isinstance(raw, dict):
        errors.append(f"{where}: expected a mapping, got {type(raw).__name__}")
        return
    info, hints, fields = _struct_info(cls)
    before = len(errors)
    errors.extend(f"{_join(path, str(key))}: unknown field" for key in raw if key not in fields)
    for name, f in fields.items():
        sub = _join(path, name)
        if name not in raw:
            if f.required:
                errors.append(f"{sub}: required field missing")
            continue
        value = raw[name]
        if isinstance(f.type, mi.StructType):
            _check_struct(f.type.cls, value, sub, errors)
            continue
        if isinstance(f.type, mi.ListType) and isinstance(f.type.item_type, mi.StructType):
            if not isinstance(value, list):
                errors.append(f"{sub}: expected a list, got {type(value).__name__}")
                continue
            if f.type.min_length is not None and len(value) < f.type.min_length:
                errors.append(f"{sub}: needs at least {f.type.min_length} item(s)")
            for i, item in enumerate(value):
                _check_struct(f.type.item_type.cls, item, _join(sub, i), errors)
            continue
        try:
            msgspec.convert(value, hints[f.name], str_keys=True)
        except msgspec.ValidationError as e:
            errors.append(f"{sub}: {_message(e, f.type, value)}")
    if len(errors) == before:  # every field is fine alone: now the cross-field checks
        try:
            msgspec.convert(raw, cls, str_keys=True)
        except msgspec.ValidationError as e:
            errors.append(f"{where}: {_message(e, info, raw)}")


def config_errors(raw: Any) -> list[str]:
    """Return every error of a decoded config document (empty: it is valid)."""
    errors: list[str] = []
    _check_struct(StrategyConfig, raw, "", errors)
    strategy = raw.get("strategy") if isinstance(raw, dict) else None
    if isinstance(strategy, dict) and isinstance(strategy.get("name"), str):
        try:
            module = strategies.load(strategy["name"])
        except strategies.UnknownStrategyError as e:
            errors.append(f"strategy.name: {e} (known: {', '.join(strategies.available())})")
        else:
            params = strategy.get("params", {})
            if isinstance(params, dict):
                _check_struct(module.Params, params, "strategy.params", errors)
    if not errors:  # a well-formed file: now what ``tickbot run`` needs of its mode
        errors.extend(run_errors(msgspec.convert(raw, StrategyConfig, str_keys=True)))
    return errors


def config_schema() -> dict[str, Any]:
    """Return the JSON schema of a whole config file, with every strategy's params."""
    schema = msgspec.json.schema(StrategyConfig)
    defs = schema["$defs"]
    section = defs["StrategySection"]
    variants = []
    for name in strategies.available():
        params_type = strategies.load(name).Params
        sub = msgspec.json.schema(params_type, ref_template="#/$defs/{name}")
        key = f"{name}.Params"
        for def_name, body in sub.get("$defs", {}).items():
            defs[key if def_name == params_type.__name__ else f"{name}.{def_name}"] = body
        variants.append(
            {
                "type": "object",
                "properties": {
                    "name": {"const": name},
                    "params": {"$ref": f"#/$defs/{key}", "default": {}},
                },
                "required": ["name"],
                "additionalProperties": False,
            }
        )
    defs["StrategySection"] = {
        "title": section.get("title", "StrategySection"),
        "description": section.get("description", ""),
        "oneOf": variants,
    }
    return schema
