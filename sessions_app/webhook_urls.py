"""Provider webhooks under /webhooks/<slug>/ (issue: sync engine)."""

urlpatterns: list = []
