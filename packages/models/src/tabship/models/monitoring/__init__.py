"""Monitoring the champion: profile, drift, estimates, live performance, the log."""
