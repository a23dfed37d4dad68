"""Phone numbers as customers type them, normalised to E.164 for matching."""

import re
from functools import lru_cache

import phonenumbers

DIGITS = re.compile(r"\d")
# Arabic-Indic (٠–٩) and Persian (۰–۹) digits, as phones with an Arabic keyboard type them.
LATIN_DIGITS = str.maketrans("٠١٢٣٤٥٦٧٨٩۰۱۲۳۴۵۶۷۸۹", "0123456789" * 2)


def latin_digits(text: str) -> str:
    """The text with Arabic-Indic and Persian digits written as 0–9 (couriers dial these)."""
    return (text or "").translate(LATIN_DIGITS)


# Parsing is the costly step of every import (a CSV of 100,000 rows, its check and the
# door's own checks): the same typed number is parsed once per process.
@lru_cache(maxsize=65536)
def normalize_phone(raw: str, region: str = "MA") -> str:
    """E.164 form of a phone number ("+212612345678"), or "" when it cannot be parsed.

    Numbers written without a country code are read in `region`; a leading
    "00" or a bare country code ("2126…") is understood too.
    """
    text = latin_digits(raw).strip()
    if len(DIGITS.findall(text)) < 6:
        return ""
    if text.startswith("00"):
        text = "+" + text[2:]
    for candidate in (text, "+" + text) if not text.startswith("+") else (text,):
        try:
            number = phonenumbers.parse(candidate, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_possible_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return ""


def is_valid_phone(e164: str) -> bool:
    """True when the normalised number is a real, dialable number for its country."""
    if not e164:
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(e164, None))
    except phonenumbers.NumberParseException:
        return False


def looks_like_phone(text: str) -> bool:
    """A search term made of phone characters with at least 8 digits (any script's digits)."""
    text = latin_digits(text)
    return bool(re.fullmatch(r"[\d\s+().-]+", text)) and len(DIGITS.findall(text)) >= 8
