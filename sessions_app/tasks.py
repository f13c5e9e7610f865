"""Celery tasks: thin interfaces around services (the sync issue fills this in)."""
