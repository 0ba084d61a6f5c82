"""The admin inbox: conversations with their thread and actions, and the people behind them.

Every change to a conversation goes through `conversations.services`, where the rules live; the
admin only parses what the teammate typed (`conversations.forms`), calls the service and tells
what happened. A refusal is the service's own message, shown as an error, with nothing written.
Other apps add panels to a conversation's page through `conversations.panels`.
"""

from conversations.admin.accounts import AccountAdmin
from conversations.admin.devices import TOTPDeviceAdmin
from conversations.admin.inbox import ConversationAdmin
from conversations.admin.people import ContactAdmin, TeammateAdmin, WorkflowAdmin

__all__ = [
    "AccountAdmin",
    "ConversationAdmin",
    "ContactAdmin",
    "TeammateAdmin",
    "TOTPDeviceAdmin",
    "WorkflowAdmin",
]
