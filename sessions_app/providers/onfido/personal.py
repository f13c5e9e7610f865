"""What is personal in Onfido payloads: masked when shown, erased with the client.

Paths per payload shape (`sessions_app/payload_paths.py` says how they read).
Onfido keeps a person's data in the applicant (`first_name`, `last_name`,
`dob`, `email`, `address`, `id_numbers`, ...), in what a profile task
captured (its `output`, and later tasks' `input`) and in a document report's
`properties` (`document_numbers`, `date_of_birth`, `nationality`, the MRZ
lines, ...); a watchlist report's `properties.records` are its matches. A
report's `breakdown` holds results (`first_name: {"result": "clear"}`), not
the data, so only `properties` inside it are personal.
"""

from __future__ import annotations

# Keys that hold a person's data wherever Onfido puts them.
PERSON_KEYS = (
    "first_name",
    "middle_name",
    "last_name",
    "full_name",
    "email",
    "phone_number",
    "mobile_number",
    "dob",
    "date_of_birth",
    "place_of_birth",
    "gender",
    "nationality",
    "address",
    "addresses",
    "address_lines",
    "location",
    "id_numbers",
    "document_numbers",
    "personal_number",
    "mrz_line1",
    "mrz_line2",
    "mrz_line3",
    "barcode",
    "records",
)


def _under(*prefixes: str) -> tuple[str, ...]:
    return tuple(f"{prefix}.{key}" for prefix in prefixes for key in PERSON_KEYS)


# Where a task carries them: its output (a profile), its input (data passed
# on), a report's properties (plain, or one report of several in the output).
_TASK = ("output", "input", "output.properties", "output.*.properties")

PERSONAL_PATHS: dict[str, tuple[str, ...]] = {
    # {"run": <workflow run>, "tasks": [<task>, ...]}
    "session": _under(
        "run.output", "run.input", *(f"tasks.{where}" for where in _TASK)
    ),
    # a task (the check's raw payload)
    "check": _under(*_TASK),
    # a report's breakdown (the check's breakdown)
    "breakdown": _under("**.properties"),
    # the trimmed applicant
    "client": PERSON_KEYS,
    # a webhook delivery: the run or task under payload.resource
    "webhook": _under(
        "payload.resource.output",
        "payload.resource.input",
        "payload.resource.output.properties",
        "payload.resource.output.*.properties",
    ),
}
