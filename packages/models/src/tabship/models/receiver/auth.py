"""Who may ask for a retrain: a bearer token (what Alertmanager's webhook `http_config.authorization`
sends) or an HMAC-SHA256 signature of a timestamp and the body, for senders that sign instead.

The signature travels as `X-Tabship-Signature: t=<unix seconds>,sha256=<hex>`, the hex being
HMAC-SHA256(secret, "<t>." + body), the scheme Stripe and Slack use for their webhooks. A
signature older (or newer) than TOLERANCE_SECONDS is refused, so a captured request cannot start
a retrain again once the dedup window has passed. Every comparison takes constant time.

Bearer mode relies on the token staying secret in transit (TLS, or loopback and a private
network): a bearer request carries no time, so a replay of one is a new request from the token's
holder, and only the dedup window (the alert group's key and fingerprints) stops repeats.
"""

from __future__ import annotations

import hashlib
import hmac
import time

SIGNATURE_HEADER = "X-Tabship-Signature"
TOLERANCE_SECONDS = 300  # Stripe's default; clocks of the sender and receiver may differ this much


def sign(body: bytes, secret: bytes, timestamp: int | None = None) -> str:
    """The header value that signs BODY with SECRET at TIMESTAMP (default: now)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret, f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={stamp},sha256={digest}"


def _signed_at(signature: str) -> int | None:
    """The `t=` of a signature header, or None when it has none."""
    fields = dict(part.partition("=")[::2] for part in signature.split(","))
    stamp = fields.get("t", "")
    return int(stamp) if stamp.isdigit() and len(stamp) <= 12 else None


def authorized(
    authorization: str,
    signature: str,
    body: bytes,
    token: str | None,
    secret: bytes | None,
    now: float | None = None,
) -> bool:
    """True when the AUTHORIZATION header carries the bearer TOKEN, or the SIGNATURE header
    signs BODY with SECRET at a time within TOLERANCE_SECONDS of NOW."""
    scheme, _, credentials = authorization.partition(" ")
    bearer = token is not None and scheme.lower() == "bearer" and credentials
    if bearer and hmac.compare_digest(credentials.strip().encode(), str(token).encode()):
        return True
    if secret is None or not signature:
        return False
    stamp = _signed_at(signature)
    clock = time.time() if now is None else now
    if stamp is None or abs(clock - stamp) > TOLERANCE_SECONDS:
        return False
    return hmac.compare_digest(signature.encode(), sign(body, secret, stamp).encode())
