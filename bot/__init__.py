"""The Discord adapter: parses Discord events, calls :class:`newsbot.index.api.NewsIndex`, renders."""
