"""JSON as every body is read: the API's requests and Stripe's signed
events alike."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any


def parse(body: str | bytes) -> Any:
    """Numbers become Decimals, never binary floats: 0.1 stays 0.1. Whatever
    the text, a JSONDecodeError or the value: never a RecursionError (100,000
    nested `[`) nor the ValueError of an integer of over 4,300 digits."""
    try:
        return json.loads(body, parse_float=Decimal)
    except json.JSONDecodeError:
        raise
    except (RecursionError, ValueError) as error:  # nested too deeply; too many digits; not UTF-8
        text = body if isinstance(body, str) else ""
        raise json.JSONDecodeError(str(error) or "nested too deeply", text, 0) from None
