"""What is personal in Illumina ICA payloads: nothing that names a person.

ICA sessions are genomics workflow runs. Their payloads name the run
(`userReference`, `reference`: references the lab chose, such as
`ws_<run>_<n>`), the pipeline, the storage and the ICA users who started them
(`owner.id`, `ownerId`: pseudonymous ids of the tenant's staff, not of the
people under review). None of these is masked: the references are what
officers search and match on. A lab must not put a person's name in a
reference; docs/data-protection.md says so.
"""

from __future__ import annotations

PERSONAL_PATHS: dict[str, tuple[str, ...]] = {
    "session": (),
    "check": (),
    "breakdown": (),
    "client": (),
    "webhook": (),
}
