"""Date formats for every page Django formats itself (the admin above all): ISO
and UTC like the desk ("2026-12-06 06:13 UTC"), whatever the language's own
formats say ("6 Dec 2026, 6:13 a.m.", "01/12/2026"). settings.FORMAT_MODULE_PATH
points here; one module per language Verity runs in (LANGUAGE_CODE en-gb, and
en for a browser that asks for plain English)."""
