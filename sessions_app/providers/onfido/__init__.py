"""Onfido (Entrust IDV) Studio workflow runs: the adapter (`adapter.py`) and
its pass state (`cursor.py`), how a run is read (`records.py`), the HTTP
client (`http.py`), the region option (`options.py`), webhooks (`webhook.py`)
and the normalisation rows (`rows.py`).

Contract facts: `docs/providers/onfido.md`. Nothing is imported here, so the
rows load without the adapter (see `sessions_app/providers/registry.py`).
"""
