"""The Discord adapter: parses Discord events, calls :class:`index.api.NewsIndex`, renders the result."""
