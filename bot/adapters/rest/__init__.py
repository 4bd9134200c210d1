"""Shared signed-REST and private-stream machinery for the order-entry adapters.

``session`` moves request bytes over one keep-alive aiohttp session and turns transport failures
into typed outcomes; ``clock`` estimates the venue's clock offset; ``usage`` parses the venues'
rate-limit headers; ``entry`` is the request/decode/classify loop every venue's ``orders.py``
builds on; ``stream`` is the authenticated WebSocket user-stream loop.
"""
