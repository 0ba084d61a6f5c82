"""The demo's sample text: names, message templates, comments and workflow names.

They live in `data/sample_text.json` (UTF-8), so that the wording can be read and edited as
text, apart from the logic that picks from it. The file is read once, on first use, and handed
out frozen (lists as tuples, objects as read-only mappings): every run of `seed_demo` in a
process shares it, and no run can change what the next one picks from.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import Any

PATH = Path(__file__).resolve().parent / "data" / "sample_text.json"


def _frozen(value: Any) -> Any:
    if isinstance(value, dict):
        return MappingProxyType({key: _frozen(item) for key, item in value.items()})
    if isinstance(value, list):
        return tuple(_frozen(item) for item in value)
    return value


@cache
def sample_text() -> Mapping[str, Any]:
    """The whole file; `comments` keyed by the rating value (an int, as JSON keys are text)."""
    with PATH.open(encoding="utf-8") as file:
        data = json.load(file)
    data["comments"] = {int(value): lines for value, lines in data["comments"].items()}
    return _frozen(data)
