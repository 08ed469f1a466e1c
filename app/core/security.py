"""Password hashing (Argon2id) and secret tokens."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from functools import lru_cache

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from app.core.config import get_settings


@lru_cache
def password_hasher() -> PasswordHasher:
    s = get_settings()
    return PasswordHasher(
        time_cost=s.password_hash_time_cost,
        memory_cost=s.password_hash_memory_kib,
        parallelism=1,
        type=Type.ID,
    )


def hash_password(password: str) -> str:
    return password_hasher().hash(password)


# A hash to verify against when the username is unknown, so both paths take the same time.
@lru_cache
def _dummy_hash() -> str:
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return password_hasher().verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def new_token() -> str:
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Only digests of session tokens are stored: a copy of the table does not let anyone sign in."""
    return hashlib.sha256(token.encode()).hexdigest()


def tokens_match(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def local_path(value: str | None) -> str | None:
    """`value` if it is a path on this site, else None: never `//evil.example`, `/\\evil.example` (browsers
    read both as another site) or `https://...`. For every link built from what a request sent."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return None


def whole_number(text: str, lo: int, hi: int) -> int | None:
    """A whole number typed into a form, from `lo` to `hi`; None if it is anything else. ASCII digits only
    (int() would also take "٣" or " 3 "), and few of them: int() refuses more than 4,300 digits with an error
    of its own, which would otherwise surface as a fault of ours."""
    if not (text.isascii() and text.isdigit() and len(text) <= 18):
        return None
    n = int(text)
    return n if lo <= n <= hi else None


def form_text(value: object, most: int = 1_000_000) -> str:
    """Text from a form as people count it: a browser sends each line break as CR LF (2 characters) while the
    GOV.UK character count shows it as 1, so "\r\n" becomes "\n" before anything is counted or stored. Cut
    only far past any limit and past what anyone pastes (a limit refuses text too long, says how long it was
    and shows it back whole; it is never stored cut short). At 20,000 a pasted 30,000 was shown back cut and
    counted as 20,000."""
    return str(value or "").replace("\r\n", "\n")[:most]
