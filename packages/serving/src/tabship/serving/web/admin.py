"""POST /admin/reload: serve the registry's champion (and challenger) now, without a restart.

It has its own bearer token, read at start from the variable serving.yaml's `reload_token_env`
names (TABSHIP_RELOAD_TOKEN by default), apart from the prediction endpoints' TABSHIP_API_TOKEN:
whoever may score may not change the model. With no token configured the endpoint is off and
answers 403 saying how to turn it on (a 404 would hide a misconfiguration); a missing or wrong
token gets 401. Refusals use the one error body; the work (registry, store, load) runs in a
worker thread, so other requests go on being answered meanwhile, by the old model until the swap.
"""

from __future__ import annotations

import json
from typing import Any

import bentoml
from starlette.concurrency import run_in_threadpool
from starlette.routing import Route

from tabship.serving.errors import ErrorBody
from tabship.serving.runtime.reload import ReloadError
from tabship.serving.settings import secret
from tabship.serving.web.middleware import bearer_matches, request_headers
from tabship.serving.web.routes import Message, answer

PATH = "/admin/reload"


class ReloadEndpoint:
    """The ASGI endpoint: check the token, then the service's `reload()`."""

    def __init__(self, token_env: str) -> None:
        self.token_env = token_env
        # Read once at start: a token change needs a restart, like any other configuration.
        self.token = secret(token_env)  # the variable, or the file TOKEN_ENV_FILE names

    def _refuse(self, scope: Message) -> ErrorBody | None:
        if self.token is None:
            message = f"reload is off: set {self.token_env} (serving.yaml reload_token_env)"
            return ErrorBody(403, "reload_disabled", message)
        if not bearer_matches(request_headers(scope), self.token):
            return ErrorBody(
                401, "unauthorized", f"a valid bearer token is required ({self.token_env})"
            )
        return None

    async def __call__(self, scope: Message, receive: Any, send: Any) -> None:
        """Answer 200 with what is served now, or the refusal."""
        refusal = self._refuse(scope)
        if refusal is not None:
            await answer(send, refusal.status, refusal.to_bytes())
            return
        try:
            summary = await run_in_threadpool(bentoml.get_current_service().reload)
        except ReloadError as error:
            await answer(send, error.body.status, error.body.to_bytes())
            return
        await answer(send, 200, json.dumps(summary).encode())


def reload_route(token_env: str) -> Route:
    """POST /admin/reload, its token in the variable TOKEN_ENV."""
    return Route(PATH, ReloadEndpoint(token_env), methods=["POST"])
