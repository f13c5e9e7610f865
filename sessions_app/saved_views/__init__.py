"""Saved views: a reviewer's named filter sets on the review queue (docs/saved-views.md)."""
