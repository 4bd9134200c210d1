"""msgspec building blocks shared by the venue schemas."""

from __future__ import annotations

from typing import Annotated

import msgspec

Int64 = Annotated[int, msgspec.Meta(ge=-(2**63) + 1, le=2**63 - 1)]
"""An integer that fits an event field; larger numbers fail validation (counted as malformed)."""
MS = Annotated[int, msgspec.Meta(ge=0, le=(2**63 - 1) // 1_000_000)]
"""A millisecond timestamp that still fits int64 once converted to nanoseconds."""
EMPTY_LEVELS = msgspec.Raw(b"[]")
"""Default of a missing level array."""
NULL = msgspec.Raw(b"null")
"""Default of a missing raw field; compare with ``bytes(raw) == b"null"``."""
