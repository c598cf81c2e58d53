"""BentoML's request metrics with the `endpoint` label bounded to the service's own paths.

BentoML labels its request counters and histograms with the raw request path, so every distinct
unknown path a client tries adds series, for good: 4,891 random 404 paths added 8,200 series in
`nox -s bench_serve`, each kept in memory and in every scrape. Here any path the service does not
serve is counted as `/other`; the request itself still sees its own path.

BentoML builds its middleware from `bentoml._internal.server.http.instruments` when the app is
made, after the service module is imported, so replacing the class there is enough. It is an
internal of BentoML 1.4 (pinned in uv.lock); test_service_http.py fails if it stops working.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

OTHER = "/other"
_RAW = "tabship.raw_path"
# Paths BentoML itself serves, beside the service's API routes.
INFRASTRUCTURE = ("/", "/healthz", "/livez", "/readyz", "/metrics", "/docs.json", "/schema.json")
PREFIXES = ("/static_content/", "/assets/")


class _RestorePath:
    """Hands the inner app the request's own path again."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if _RAW in scope:
            scope = {**scope, "path": scope[_RAW]}
        await self.app(scope, receive, send)


def bound_request_metrics(paths: Iterable[str]) -> None:
    """Count requests to anything but PATHS and BentoML's own as `/other`. Idempotent."""
    from bentoml._internal.server.http import instruments

    original: Any = instruments.RunnerTrafficMetricsMiddleware
    if getattr(original, "tabship_bounded", False):
        return
    known = frozenset((*INFRASTRUCTURE, *paths))

    class Bounded(original):  # type: ignore[misc]
        tabship_bounded = True

        def __init__(self, app: Any, **options: Any) -> None:
            super().__init__(_RestorePath(app), **options)

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            path = scope.get("path", "")
            if scope["type"] == "http" and path not in known and not path.startswith(PREFIXES):
                scope = {**scope, "path": OTHER, _RAW: path}
            await super().__call__(scope, receive, send)

    setattr(instruments, "RunnerTrafficMetricsMiddleware", Bounded)  # noqa: B010 - a class
