"""Payloads that cross service boundaries. Service-private schemas stay in the service."""
