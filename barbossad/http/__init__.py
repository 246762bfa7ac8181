"""The daemon's small HTTP listener for machines: webhooks and /healthz (aiohttp)."""
