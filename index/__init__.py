"""The core of newsbot: ingest news files, store them, rank paragraphs, compose cited answers.

Adapters (the CLI, the Discord bot) use :class:`newsbot.index.api.NewsIndex` and the values in
:mod:`newsbot.index.model`; nothing here imports Discord.
"""
