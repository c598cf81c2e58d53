"""`tabship-data init`: a new dataset's configs inferred from a file."""
