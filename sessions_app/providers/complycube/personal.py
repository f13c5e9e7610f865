"""What is personal in ComplyCube payloads: masked when shown, erased with the client.

Paths per payload shape (`sessions_app/payload_paths.py` says how they read).
A ComplyCube client carries `entityName` (the full name, computed), `email`,
`mobile`, `telephone` and `personDetails` (`firstName`, `lastName`, `dob`,
`nationality`, identity numbers, ...); sessions and checks repeat
`entityName`; a document check's `extractedData` holds what was read off the
document (the holder's details, the document number, the MRZ, the address).
The keys are ComplyCube's own and mean the same at any depth, so every shape
uses the same list.
"""

from __future__ import annotations

_PERSONAL = (
    "**.entityName",
    "**.email",
    "**.mobile",
    "**.telephone",
    "**.personDetails",
    "**.address",
    "**.addresses",
    "**.extractedData.holderDetails",
    "**.extractedData.addressDetails",
    "**.extractedData.documentDetails.documentNumber",
    "**.extractedData.documentDetails.personalNumber",
    "**.extractedData.documentDetails.mrz",
)

PERSONAL_PATHS: dict[str, tuple[str, ...]] = {
    "session": _PERSONAL,  # {"session": <workflow session>, "checks": [...]}
    "check": _PERSONAL,  # a check
    "breakdown": _PERSONAL,  # a check's result.breakdown
    "client": _PERSONAL,  # the trimmed client
    "webhook": _PERSONAL,  # {"id", "type", "payload": {...}}
}
