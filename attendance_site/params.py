"""Reading ids from request parameters without trusting them."""


def id_param(value) -> int | None:
    """A database id from a query or form value, or None when it is not one ("R", "1.5", "")."""
    text = str(value or "").strip()
    if not (text.isascii() and text.isdigit()) or len(text) > 18:
        return None
    return int(text) or None
