"""``borrow``: hand a kernel an array without numba's reference counting.

Numba reference-counts arrays: every call of a jitted function that takes an array, even one
inlined into a loop, increments and decrements the array's counter with atomic instructions.
Measured here, that is ~14 ns per call for two arrays, twice the cost of a whole book update
(benchmarks/bench_core.py). A batch kernel therefore calls ``borrow`` on its arrays once at
entry: the borrowed view has no memory-info pointer, so the per-call count updates become a
null check. The caller keeps the real arrays alive for the kernel's duration, so this is safe;
never return a borrowed array or store it anywhere that outlives the call.

Per-item kernels meant for such loops are declared ``inline="always"``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

from numba import config, types
from numba.core import cgutils
from numba.extending import intrinsic


@intrinsic
def _borrow(typingctx: Any, arr: types.Type) -> Any:
    if not isinstance(arr, types.Array):
        return None

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        source = context.make_array(arr)(context, builder, value=args[0])
        view = context.make_array(arr)(context, builder)
        for name in ("nitems", "itemsize", "data", "shape", "strides", "parent"):
            setattr(view, name, getattr(source, name))
        view.meminfo = cgutils.get_null_value(view.meminfo.type)
        return view._getvalue()

    return arr(arr), codegen


def _identity(arr: Any) -> Any:
    return arr


_JIT_DISABLED = bool(config.DISABLE_JIT)  # type: ignore[attr-defined]  # set from the environment
borrow = cast("Callable[[Any], Any]", _identity if _JIT_DISABLED else _borrow)
"""Return ``arr`` as a view without reference counting (identity when JIT is disabled)."""
