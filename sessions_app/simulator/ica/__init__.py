"""Illumina ICA in the simulator: `api.py` serves the workflow-session API (v2)
and `world.py` generates the projects, sessions and analyses it serves.

Re-exported here for the end-to-end tests: the API class and the words the
unknown-enum fault serves.
"""

from .api import IcaApi
from .render import UNKNOWN_ANALYSIS_STATUS, UNKNOWN_STATUS

__all__ = ["UNKNOWN_ANALYSIS_STATUS", "UNKNOWN_STATUS", "IcaApi"]
