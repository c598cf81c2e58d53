"""Simulated production traffic and its labels (never imported by the service)."""
