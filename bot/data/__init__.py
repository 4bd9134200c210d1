"""Market-data files for backtests: the event file format, converters and the synthetic market.

* ``eventfile``: the versioned, memory-mappable event file (header + raw ``EVENT_DTYPE`` rows).
* ``generate``: a seeded synthetic L2 market (demos, tests, benchmarks).
* ``csvscan``, ``tardis``, ``binance``: streaming CSV readers (numba byte parsers, exact ticks).
* ``merge``: chunked k-way merge of sorted event streams, external sort of unordered inputs.
* ``convert``: the ``tickbot convert`` pipeline; ``inspect``: summaries and book reconstruction.
"""
