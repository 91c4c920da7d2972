"""Sharing's HTTP layer: routers by resource, dependencies, the error map."""
