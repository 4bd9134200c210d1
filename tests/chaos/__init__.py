"""``make chaos``: seeded trading sessions against the loopback venues with faults injected.

``tests/chaos/session.py`` is one seeded run of the order router (the real adapter, user
stream, journal and risk kernel of one venue) against that venue's loopback order server;
``tests/chaos/live.py`` is one seeded run of a real ``tickbot run`` process (live mode, Bybit)
against the loopback market-data and order venues, killed with ``-9`` and restarted or stopped
with SIGTERM; ``python -m tests.chaos`` runs many of both and prints the figures.
"""
