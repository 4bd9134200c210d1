"""The numba core: dtypes, exact fixed-point conversion, book, signals and risk kernels.

Nothing here does I/O, logging, asyncio or reads a clock: the same code runs live and in backtests.
"""
