"""Who may ask for a retrain: a bearer token (what Alertmanager's webhook `http_config.authorization`
sends) or an HMAC-SHA256 signature of the body, for senders that sign instead.

The signature travels as `X-Tabship-Signature: sha256=<hex of HMAC-SHA256(secret, body)>`, the
form GitHub uses for its own webhooks. Every comparison takes constant time.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "X-Tabship-Signature"
PREFIX = "sha256="


def sign(body: bytes, secret: bytes) -> str:
    """The header value that signs BODY with SECRET."""
    return PREFIX + hmac.new(secret, body, hashlib.sha256).hexdigest()


def authorized(
    authorization: str, signature: str, body: bytes, token: str | None, secret: bytes | None
) -> bool:
    """True when the AUTHORIZATION header carries the bearer TOKEN, or the SIGNATURE header
    signs BODY with SECRET."""
    scheme, _, credentials = authorization.partition(" ")
    bearer = token is not None and scheme.lower() == "bearer" and credentials
    if bearer and hmac.compare_digest(credentials.strip().encode(), str(token).encode()):
        return True
    if secret is not None and signature.startswith(PREFIX):
        return hmac.compare_digest(signature.encode(), sign(body, secret).encode())
    return False
