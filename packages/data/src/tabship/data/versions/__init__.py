"""The processed store: immutable dataset versions, loading them back, splits."""
