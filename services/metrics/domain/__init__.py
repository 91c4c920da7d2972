"""Metrics' rules: DfE measures, suppression, early warning. No fastapi or sqlmodel here."""
