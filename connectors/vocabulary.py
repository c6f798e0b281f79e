"""One key form for the words partners write where a standard leaves free text.

Status words, property IDs and parameter names come as "On Hold", "ON_HOLD" or
"on-hold" depending on the system; vocabularies are keyed by ``word_key`` so that
those are one word, and a partner's own words added through options meet the
defaults.
"""

from __future__ import annotations

import re

_NOT_LETTER_OR_DIGIT = re.compile(r"[\W_]+")


def word_key(text: str) -> str:
    """``text`` case-folded, with everything but letters and digits left out."""
    return _NOT_LETTER_OR_DIGIT.sub("", text.casefold())
