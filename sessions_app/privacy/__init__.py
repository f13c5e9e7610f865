"""Data protection: the audit trail's hash chain (`audit_chain`), what is kept of
provider payloads (docs/data-protection.md)."""
