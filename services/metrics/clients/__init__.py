"""Typed clients for the peer services metrics calls (ingest's feed, sharing's policy)."""
