"""The live runtime of ``tickbot run``: the core driven from asyncio, the simulated venue in
real time (sim and paper modes), the synthetic market, the terminal view. ``bot.app`` wires it."""
