"""Typed clients for the peer services ingest calls."""
