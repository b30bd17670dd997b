"""Codes and tokens of the identity app: generation, normalisation and keyed digests.

Only digests are stored. A digest is an HMAC-SHA256 keyed with SECRET_KEY (through Django's
salted_hmac), so a stolen database alone cannot be used to test guesses offline; comparison
is constant-time.
"""

from __future__ import annotations

import math
import secrets

from django.utils.crypto import constant_time_compare, salted_hmac

# Upper-case letters and digits without the look-alikes 0/O, 1/I/L: 31 symbols.
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
# 12 symbols of 31 = 59.4 bits (10 would give only 49.5, under the 50 bits required).
ACTIVATION_CODE_LENGTH = 12
EMAIL_OTP_LENGTH = 6


def entropy_bits(*, alphabet: str = CODE_ALPHABET, length: int = ACTIVATION_CODE_LENGTH) -> float:
    return length * math.log2(len(set(alphabet)))


def new_activation_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(ACTIVATION_CODE_LENGTH))


def format_activation_code(code: str) -> str:
    """Groups of four for reading aloud and typing: ABCD-EFGH-JKMN."""
    return "-".join(code[i:i + 4] for i in range(0, len(code), 4))


def normalize_activation_code(raw: str) -> str:
    """What the citizen typed, without separators and case; spaces and dashes dropped."""
    return "".join(ch for ch in (raw or "").upper() if ch.isascii() and ch.isalnum())[:64]


def new_link_token() -> str:
    return secrets.token_urlsafe(32)


def new_email_otp() -> str:
    return f"{secrets.randbelow(10 ** EMAIL_OTP_LENGTH):0{EMAIL_OTP_LENGTH}d}"


def digest(value: str, *, purpose: str) -> str:
    return salted_hmac(f"identity.{purpose}", value, algorithm="sha256").hexdigest()


def matches(value: str, stored_digest: str, *, purpose: str) -> bool:
    return constant_time_compare(digest(value, purpose=purpose), stored_digest)
