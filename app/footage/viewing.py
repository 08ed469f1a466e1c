"""Viewing tokens: one audited playback per viewing, however many Range requests the player makes.

A page that embeds the player gives it `video_url(...)`: `/api/v1/footage/{id}/video?view=<token>`; so does the
JSON API in each clip's `video_url` (purpose "api"), for the user who asked. The token
is signed with the app's secret key (HMAC-SHA256) and binds the footage, the user, the time it was issued and
the page's purpose (review, calibration...), plus a random part that makes each page load its own viewing.
The video route audits the first request carrying a valid token and lets the player's later range requests
(seeking, buffering) through without another entry. A request with no token, or with one that is forged,
expired, another user's or another clip's, is audited every time: there is no way to fetch bytes unrecorded.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from functools import lru_cache

from app.core.config import get_settings

TTL_SECONDS = 12 * 3600  # as long as the longest session (absolute timeout)
CLOCK_SKEW_SECONDS = 60
PURPOSES = ("review", "calibration", "side_by_side", "footage_page", "own_footage", "good_practice", "api")
# v1.<footage>.<user>.<issued, unix s>.<purpose>.<nonce>.<HMAC-SHA256, base64url>
_SHAPE = re.compile(r"^v1\.(\d{1,10})\.(\d{1,10})\.(\d{1,12})\.([a-z_]{1,20})\.([\w-]{16})\.([\w-]{43})$", re.ASCII)


@dataclass(frozen=True)
class Viewing:
    footage_id: int
    user_id: int
    issued_at: int
    purpose: str
    nonce: str


class ViewTokenRefused(Exception):
    """Why a token does not count as a viewing: missing, forged, expired, other_user, other_footage."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


@lru_cache
def _key(secret: str) -> bytes:
    # A key of its own, derived from the secret key, so a view token can never stand in for anything else.
    return hmac.new(secret.encode(), b"bwv-review view token v1", hashlib.sha256).digest()


def _sign(payload: str) -> str:
    mac = hmac.new(_key(get_settings().secret_key), payload.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def issue(footage_id: int, user_id: int, purpose: str, *, now: float | None = None) -> str:
    if purpose not in PURPOSES:
        raise ValueError(f"unknown viewing purpose {purpose!r}")
    issued = int(time.time() if now is None else now)
    nonce = secrets.token_urlsafe(12)  # 16 characters
    payload = f"v1.{footage_id}.{user_id}.{issued}.{purpose}.{nonce}"
    return f"{payload}.{_sign(payload)}"


def video_url(footage_id: int, user_id: int, purpose: str) -> str:
    """The player's source for this user: a fresh viewing each time a page is rendered."""
    return f"/api/v1/footage/{footage_id}/video?view={issue(footage_id, user_id, purpose)}"


def check(token: str | None, *, footage_id: int, user_id: int, now: float | None = None) -> Viewing:
    """The viewing this token stands for, if it is genuine, this user's, for this clip and current."""
    if not token:
        raise ViewTokenRefused("missing")
    m = _SHAPE.match(token)
    if m is None:
        raise ViewTokenRefused("forged")
    payload, sig = token.rsplit(".", 1)
    if not hmac.compare_digest(sig, _sign(payload)):
        raise ViewTokenRefused("forged")
    viewing = Viewing(int(m.group(1)), int(m.group(2)), int(m.group(3)), m.group(4), m.group(5))
    if viewing.purpose not in PURPOSES:
        raise ViewTokenRefused("forged")
    if viewing.user_id != user_id:
        raise ViewTokenRefused("other_user")
    if viewing.footage_id != footage_id:
        raise ViewTokenRefused("other_footage")
    age = (time.time() if now is None else now) - viewing.issued_at
    if age > TTL_SECONDS or age < -CLOCK_SKEW_SECONDS:
        raise ViewTokenRefused("expired")
    return viewing
