"""Ids typed by people or scripts (query strings, form fields, live topics)."""


def decimal_id(text: str) -> int | None:
    """`text` as a numeric id, if it is one: ASCII digits that fit a bigint. str.isdigit() alone
    also takes "²" or "٣", which int() refuses or reads as another number."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None
