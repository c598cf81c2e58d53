"""Scoring a CSV: over HTTP, or in-process as `predict --local` does."""
