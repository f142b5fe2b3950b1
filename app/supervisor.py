"""The supervisor passphrase that guards the TIP settings: only a salted scrypt hash is ever stored.

The stored text names its own parameters (``scrypt$n$r$p$salt$hash``), so a later
version may raise the cost without locking out a passphrase set today. No Qt here.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

_N, _R, _P = 1 << 14, 8, 1  # ~16 MB and ~50 ms: cheap for one unlock, dear for a guessing run
MIN_LENGTH = 6


def hash_passphrase(passphrase: str, salt: bytes | None = None) -> str:
    """``scrypt$n$r$p$salt$hash`` (hex) of the passphrase with a fresh 16-byte salt unless given."""
    if len(passphrase) < MIN_LENGTH:
        raise ValueError(f"the supervisor passphrase needs at least {MIN_LENGTH} characters")
    salt = salt if salt is not None else secrets.token_bytes(16)
    digest = hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_passphrase(passphrase: str, stored: str) -> bool:
    """True when ``passphrase`` matches ``stored``; a malformed stored value never matches."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = bytes.fromhex(digest)
        got = hashlib.scrypt(passphrase.encode("utf-8"), salt=bytes.fromhex(salt), n=int(n), r=int(r),
                             p=int(p), dklen=len(want))
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, want)
