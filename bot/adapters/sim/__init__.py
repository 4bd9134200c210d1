"""The ``sim`` venue: the simulated exchange behind the router's order-entry contract."""

from bot.adapters.sim.exchange import SimExchange, SimFaults
from bot.adapters.sim.orders import SIM_CAPABILITIES, SimOrderEntry, SimUserStream

__all__ = ["SIM_CAPABILITIES", "SimExchange", "SimFaults", "SimOrderEntry", "SimUserStream"]
