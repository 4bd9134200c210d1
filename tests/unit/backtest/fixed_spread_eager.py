"""The fixed-spread maker woken on every event and order update (it ignores those wakes).

Running it must give exactly what the timer-only original gives: the engine's lazy local side
(applied just before each wake) and its eager one (applied event by event) are the same model.
"""

from strategies.fixed_spread import (  # noqa: F401
    FSTATE_SIZE,
    ISTATE_SIZE,
    NAME,
    USES_SIGNALS,
    Params,
    decide,
    pack,
)

WAKE_ON_EVENT = True
WAKE_ON_ORDER = True
