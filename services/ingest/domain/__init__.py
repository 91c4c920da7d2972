"""Ingest domain rules: parsing returns, code validity, amendments. No HTTP, no SQL."""
