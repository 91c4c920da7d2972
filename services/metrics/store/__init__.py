"""Metrics' read model: tables and the queries over them."""
