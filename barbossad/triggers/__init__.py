"""Triggers: what starts runs besides people and schedules (webhooks, other workflows, files)."""
