"""The HTTP side: routes, middleware, timeout, metrics, error and answer shapes."""
