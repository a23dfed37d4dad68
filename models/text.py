"""Text as people compare it: the same word with or without its accents."""

import unicodedata


def without_accents(text: str) -> str:
    """The text with accents and other combining marks removed ("Laâyoune" → "Laayoune")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text)
                   if not unicodedata.combining(c))
