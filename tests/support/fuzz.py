"""Hypothesis strategies that break venue frames in the ways the network and venues do."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

WEIRD_VALUES = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
    st.sampled_from(
        [
            "1e999999",
            "-0",
            "NaN",
            "99999999999999999999999.1",
            "0.000000000000000000001",
            "1,5",
            "",
            " 1",
            "1e-400",
            "１２",
        ]
    ),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


def _paths(obj: Any, prefix: tuple = ()) -> list[tuple]:
    out = [prefix] if prefix else []
    if isinstance(obj, dict):
        for k, v in obj.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out += _paths(v, (*prefix, i))
    return out


def _set(obj: Any, path: tuple, value: Any) -> Any:
    if not path:
        return value
    head, *rest = path
    obj[head] = _set(obj[head], tuple(rest), value)
    return obj


@st.composite
def broken_frames(draw: st.DrawFn, frames: Sequence[str]) -> str | bytes:
    """A real frame, truncated, with a field replaced by a weird value, or random bytes."""
    frame = draw(st.sampled_from(list(frames)))
    how = draw(st.sampled_from(["truncate", "mutate", "bytes", "splice"]))
    if how == "truncate":
        return frame[: draw(st.integers(min_value=0, max_value=max(0, len(frame) - 1)))]
    if how == "bytes":
        return draw(st.binary(max_size=300))
    if how == "splice":
        i = draw(st.integers(min_value=0, max_value=len(frame)))
        return frame[:i] + draw(st.text(max_size=8)) + frame[i:]
    obj = json.loads(frame)
    paths = _paths(obj)
    path = draw(st.sampled_from(paths))
    return json.dumps(_set(obj, path, draw(WEIRD_VALUES)))
