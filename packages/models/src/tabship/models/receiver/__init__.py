"""Alertmanager's webhook receiver: standard library and tabship.data only."""
