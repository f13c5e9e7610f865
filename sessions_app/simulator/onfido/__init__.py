"""Onfido in the simulator: `api.py` serves the workflow-run API (v3.6) and
`world.py` generates the applicants, runs and tasks it serves.

Re-exported here for the end-to-end tests: the API class, the words the
unknown-enum fault serves, and the page size of the run listing.
"""

from ..config import ONFIDO_PAGE_SIZE
from .api import UNKNOWN_RESULT, UNKNOWN_STATUS, OnfidoApi

__all__ = ["ONFIDO_PAGE_SIZE", "UNKNOWN_RESULT", "UNKNOWN_STATUS", "OnfidoApi"]
