"""Venue adapters: one package per venue with the same files (see ``bot.adapters.base``)."""
