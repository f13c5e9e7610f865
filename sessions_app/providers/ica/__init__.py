"""Illumina Connected Analytics (ICA v2) workflow sessions: the adapter
(`adapter.py`) and its pass state (`cursor.py`), how a session is read
(`records.py`), the HTTP client and its paged envelopes (`http.py`), webhooks
(`webhook.py`) and the normalisation rows (`rows.py`).

Contract facts: `docs/providers/ica.md`. Nothing is imported here, so the rows
load without the adapter (see `sessions_app/providers/registry.py`).
"""
