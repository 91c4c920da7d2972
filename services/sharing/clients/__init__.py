"""Typed clients for the peer services sharing calls."""
