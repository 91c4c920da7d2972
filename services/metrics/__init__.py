"""The metrics service: DfE absence measures from a read model fed by ingest's change feed."""
