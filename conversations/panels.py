"""Panels that other apps add to the inbox's conversation page.

The conversations app knows nothing of the apps above it. One that has something to show on a
conversation's page (the ratings app: why the customer got a survey or not) registers a panel
here, from its own admin module; the conversation page draws every registered panel under the
conversation's facts, in the order they were registered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class ConversationPanel:
    """`context(request, conversation, admin_site)` returns the template's context, or None
    to draw nothing; it runs only for a page that is shown, on the conversation already read."""

    name: str
    template: str
    context: Callable


_PANELS: dict[str, ConversationPanel] = {}


def conversation_panel_add(panel: ConversationPanel) -> None:
    """Register `panel` (again under the same name: replaced, never drawn twice)."""
    _PANELS[panel.name] = panel


def conversation_panels() -> list[ConversationPanel]:
    return list(_PANELS.values())
