"""ISO dates in UTC, like the desk (config/formats/iso.py)."""

from config.formats.iso import *  # noqa: F403
