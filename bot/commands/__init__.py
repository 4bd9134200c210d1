"""Subcommands of the tickbot CLI, one module each (see ``bot.cli``)."""
