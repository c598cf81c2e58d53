"""Ingest: raw files read in chunks, coerced, validated, quarantined, published."""
