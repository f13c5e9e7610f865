"""ComplyCube in the simulator: `api.py` serves the workflow-session API (v1)
and `world.py` generates the clients, sessions and checks it serves.

Re-exported here for the end-to-end tests: the API class and the words the
unknown-enum fault serves.
"""

from .api import UNKNOWN_OUTCOME, UNKNOWN_STATUS, ComplyCubeApi

__all__ = ["UNKNOWN_OUTCOME", "UNKNOWN_STATUS", "ComplyCubeApi"]
