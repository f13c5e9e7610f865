"""REST API under /api/ (issue: exports and API)."""

urlpatterns: list = []
