"""Strategies: a typed Params struct and an @njit decision kernel each; no I/O, no clock."""
