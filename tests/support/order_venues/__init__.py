"""One loopback order-venue plug-in per venue (see ``tests/support/order_venue.py``)."""
