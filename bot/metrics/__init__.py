"""Prometheus metrics: every metric is declared in ``registry``; the core never touches them."""
