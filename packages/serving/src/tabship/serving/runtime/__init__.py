"""What scores inside a worker: the served model, reloads, the logs it writes."""
