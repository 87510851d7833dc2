"""The terminal adapter: ``newsbot`` subcommands over the core in :mod:`newsbot.index`."""
