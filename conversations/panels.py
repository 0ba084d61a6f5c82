"""Panels (and notes on parts) that other apps add to the inbox's conversation page.

The conversations app knows nothing of the apps above it. One that has something to show on a
conversation's page (the ratings app: why the customer got a survey or not) registers a panel
here, from its own admin module; the conversation page draws every registered panel under the
conversation's facts, in the order they were registered. Each one can also be drawn alone, at
`<conversation>/panel/<name>/` in the admin (the same template, with the address of that
fragment as `panel_url`): a panel whose content changes by itself (a decision being made) sets
`data-refresh-url="{{ panel_url }}"` on its outer element, and the page fetches it again
(static/js/panel_refresh.js) until it no longer does.
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


def conversation_panel(name: str) -> ConversationPanel | None:
    """The panel registered under `name`, if any (the page draws one alone by its name)."""
    return _PANELS.get(name)


# Notes on the thread's parts: `details(request, parts, admin_site)` returns, for some of the
# parts, a list of safe HTML snippets shown under the part (an email's delivery, its files).
_PART_DETAILS: dict[str, Callable] = {}


def part_details_add(name: str, details: Callable) -> None:
    """Register `details` (again under the same name: replaced)."""
    _PART_DETAILS[name] = details


def part_details(request, parts: list, admin_site) -> dict[int, list[str]]:
    """Every registered app's notes, by part id, in the order the apps registered."""
    notes: dict[int, list[str]] = {}
    for details in _PART_DETAILS.values():
        for part_id, snippets in details(request, parts, admin_site).items():
            notes.setdefault(part_id, []).extend(snippets)
    return notes


# Marks in the inbox's list: `marks(conversations)` returns, for some of the conversations of
# a page, a safe HTML snippet for the list's column of that name (the ratings app: the rating).
# Called once per page, with the page's rows, so it reads them in one query.
_LIST_MARKS: dict[str, Callable] = {}


def list_marks_add(name: str, marks: Callable) -> None:
    """Register `marks` for the column `name` (again under the same name: replaced)."""
    _LIST_MARKS[name] = marks


def list_marks(conversations: list) -> dict[int, dict[str, str]]:
    """Every registered column's snippets, by conversation id then column name."""
    found: dict[int, dict[str, str]] = {}
    for name, marks in _LIST_MARKS.items():
        for pk, html in marks(conversations).items():
            found.setdefault(pk, {})[name] = html
    return found


# Actions other apps add to the contacts list (the ratings app: "Erase personal data…", G1),
# each with the permission ("app_label.codename") a user needs to be offered it. The
# contacts' admin lists them after its own.
@dataclass(frozen=True)
class ContactAction:
    """`function(modeladmin, request, queryset)`, as a Django admin action."""

    name: str
    description: str
    permission: str
    function: Callable


_CONTACT_ACTIONS: dict[str, ContactAction] = {}


def contact_action_add(action: ContactAction) -> None:
    """Register `action` (again under the same name: replaced)."""
    _CONTACT_ACTIONS[action.name] = action


def contact_actions() -> list[ContactAction]:
    return list(_CONTACT_ACTIONS.values())
