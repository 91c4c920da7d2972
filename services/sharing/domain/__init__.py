"""Sharing's rules: identifiers, roles, secrets, signing keys, visibility. No HTTP, no SQL."""
