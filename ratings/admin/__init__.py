"""The admin of the rating spine: the settings (one row), the installed Messenger apps, the
records (requests, decisions, ratings and their history: view only), and the rating panel of
the inbox's conversation page ("why did this customer get no survey?")."""

from ratings.admin.alerts import RatingAlertAdmin
from ratings.admin.erasure import ErasureAdmin
from ratings.admin.panel import rating_panel_context
from ratings.admin.records import RatingAdmin, RatingDecisionAdmin, RatingRequestAdmin
from ratings.admin.settings import MessengerAppAdmin, RatingSettingsAdmin, RatingSettingsForm

__all__ = [
    "ErasureAdmin",
    "MessengerAppAdmin",
    "RatingAdmin",
    "RatingAlertAdmin",
    "RatingDecisionAdmin",
    "RatingRequestAdmin",
    "RatingSettingsAdmin",
    "RatingSettingsForm",
    "rating_panel_context",
]
