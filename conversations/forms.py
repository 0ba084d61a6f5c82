"""Forms of the admin inbox: they parse what a teammate typed, the services decide.

A form only turns the POST into the values a service takes (a body, a wake-up time, a list of
contacts); whether the change is allowed is the service's answer, so no rule is written twice.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.utils import timezone

from conversations import clock
from conversations.models import Channel, Contact, Conversation
from conversations.services import MESSAGE_MAX_LENGTH, message_length_check
from conversations.text import newlines_one

DATETIME_LOCAL = "%Y-%m-%dT%H:%M"
MORNING = time(9, 0)


def _message_field(label: str, placeholder: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        # K16: the service's one limit (the API's too), checked once the line breaks are one
        # character each, as the browser counts them for `maxlength`.
        widget=forms.Textarea(
            attrs={"rows": 4, "placeholder": placeholder, "maxlength": MESSAGE_MAX_LENGTH}
        ),
        error_messages={"required": "Write a message first: the message is empty."},
    )


def _text_body(text: str) -> str:
    """What a teammate typed: a text body (E3a), shown and counted as typed. Browsers send a
    textarea's line breaks as CRLF; one character per break is what the teammate saw."""
    return message_length_check(newlines_one(text))


class MessageForm(forms.Form):
    """A reply to the customer, typed as plain text and stored as a text body (E3a): a `<b>`
    typed is shown as typed, never as bold, and counts its three characters."""

    body = _message_field("Reply", "Write a reply to the customer…")

    def clean_body(self) -> str:
        return _text_body(self.cleaned_data["body"])


class NoteForm(MessageForm):
    """An internal note: seen by teammates only."""

    body = _message_field("Internal note", "Write a note for your teammates…")


class ReopenForm(forms.Form):
    """Reopen takes no input; the form keeps every action the same shape."""


class CloseForm(forms.Form):
    """A close, quiet or not (E8: a quiet close sends the customer no survey)."""

    quiet = forms.BooleanField(required=False)


# --- snooze -----------------------------------------------------------------------------------


def _at_morning(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, MORNING))


def in_one_hour(now: datetime) -> datetime:
    return now + timedelta(hours=1)


def tomorrow_morning(now: datetime) -> datetime:
    """9:00 tomorrow on the clock of the current time zone (the teammate's working day)."""
    return _at_morning(timezone.localtime(now).date() + timedelta(days=1))


def next_week_morning(now: datetime) -> datetime:
    """9:00 next Monday in the current time zone; on a Monday, the Monday after."""
    today = timezone.localtime(now).date()
    return _at_morning(today + timedelta(days=7 - today.weekday()))


QUICK_SNOOZES = {
    "1h": ("1 hour", in_one_hour),
    "tomorrow": ("Tomorrow 9:00", tomorrow_morning),
    "next_week": ("Next week (Mon 9:00)", next_week_morning),
}


class SnoozeForm(forms.Form):
    """Z1: a wake-up time, typed (read in the current Django time zone) or one of the quick
    choices. `cleaned_data["until"]` is always an aware datetime."""

    until = forms.DateTimeField(
        label="Snooze until",
        required=False,
        input_formats=[DATETIME_LOCAL, "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format=DATETIME_LOCAL),
        error_messages={"invalid": "Enter the snooze time as a date and a time."},
    )
    quick = forms.ChoiceField(
        required=False, choices=[(key, label) for key, (label, _) in QUICK_SNOOZES.items()]
    )

    def clean(self):
        data = super().clean()
        quick = data.get("quick")
        if quick:
            data["until"] = QUICK_SNOOZES[quick][1](clock.now())
        elif not data.get("until") and not self.has_error("until"):
            raise forms.ValidationError("Choose when the conversation should wake up.")
        return data


# --- add pages --------------------------------------------------------------------------------


class StartConversationForm(forms.Form):
    """A direct outbound conversation started from the inbox (origin direct_outbound)."""

    channel = forms.ChoiceField(choices=Channel.choices, initial=Channel.EMAIL)
    contacts = forms.ModelMultipleChoiceField(
        queryset=Contact.objects.all(),
        help_text="One contact for a conversation that can be rated; several make a group (E5).",
    )
    subject = forms.CharField(
        max_length=255, required=False, widget=forms.TextInput(attrs={"class": "vTextField"})
    )
    body = _message_field("First message", "Write the first message to the customer…")

    def __init__(self, *args, admin_site=None, **kwargs):
        """With an admin site the contacts are picked by search (the list may be long)."""
        super().__init__(*args, **kwargs)
        if admin_site is not None:
            from django.contrib.admin.widgets import AutocompleteSelectMultiple

            field = self.fields["contacts"]
            field.widget = AutocompleteSelectMultiple(
                Conversation._meta.get_field("contacts"), admin_site
            )
            field.widget.choices = field.choices
        self.fields["body"].widget.attrs.update({"class": "vLargeTextField", "rows": 8})

    def clean_body(self) -> str:
        return _text_body(self.cleaned_data["body"])


class TeammateCreateForm(forms.Form):
    """A new teammate: a staff user in the Teammates group with its profile."""

    name = forms.CharField(max_length=150)
    email = forms.EmailField()
    username = forms.CharField(
        max_length=150, required=False, help_text="Empty: the email address is the username."
    )
    password = forms.CharField(
        required=False,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
        help_text="Empty: a random password nobody knows; set one later on the user's page.",
    )

    def clean_password(self) -> str:
        password = self.cleaned_data["password"]
        if password:
            validate_password(password)
        return password
