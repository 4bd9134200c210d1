"""Backtests: the live core (books, signals, strategy, risk) against a simulated venue.

* ``engine``: ``Backtest`` allocates everything once and drives the compiled loop in chunks.
* ``_loop`` / ``loopgen``: the event loop, compiled (and cached) once per strategy module.
* ``sim_venue`` / ``sim_match`` / ``sim_types``: the matching model (latency, queue position,
  taking, fees, accounting), also usable step by step for the live ``sim`` venue.
* ``stats`` / ``report``: summary statistics, CSV files, plots and the HTML page.
* ``session``: config + event files -> a ready ``Backtest`` (CLI ``backtest`` and ``sweep``).
"""
