"""API keys: `Authorization: Bearer <key>` checked against `RXCHECK_API_KEYS` in constant time.

Keys are held only as SHA-256 digests; a key is known elsewhere (audit owner, rate-limit bucket) by a short
fingerprint of its digest, never by the key itself.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class KeyRing:
    def __init__(self, keys: Sequence[str]) -> None:
        self._digests = [_digest(k) for k in keys if k]

    def __bool__(self) -> bool:
        return bool(self._digests)

    def identify(self, presented: str | None) -> str | None:
        """The fingerprint of the key `presented` if it is one of ours, else None.

        Every configured key is compared, digest against digest, so the time taken does not depend on where
        or whether the key matches.
        """
        if not presented:
            return None
        candidate = _digest(presented)
        match: bytes | None = None
        for digest in self._digests:
            if hmac.compare_digest(candidate, digest):
                match = digest
        return match.hex()[:16] if match is not None else None


def bearer_token(authorization: str | None) -> str | None:
    """The token of an `Authorization: Bearer <token>` header value, or None."""
    if not authorization:
        return None
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None
