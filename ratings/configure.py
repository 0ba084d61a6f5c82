"""Changing the rating settings: every check in one place, for the admin and the API alike.

`rating_settings_update(by=…, **changes)` validates the changes against the stored settings
and saves them, or raises a `ValidationError` keyed by field with nothing written.
`rating_settings_clean` is the same validation without the save, so that a form can show the
errors beside its fields before anything is written.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.text import Truncator

from ratings.models import MessengerApp, RatingSettings

# The settings a change may name.
SETTINGS_FIELDS = (
    "ask_users",
    "ask_leads",
    "rating_app",
    "send_direct_outbound",
    "send_outbound_api_workflows",
    "prevent_rating_after",
    "rating_window_hours",
    "prevent_change_after",
    "change_window_hours",
    "survey_question",
    "low_rating_reasons",
    "happiness_target",
    # B: the bot's survey, and its own hours (empty: the hours above apply).
    "ask_bot",
    "bot_rating_window_hours",
    "bot_change_window_hours",
)
MAX_REASONS = 12
MAX_REASON_LENGTH = 80
QUESTION_MISSING = "Write the question shown above the five reactions."
# Each hour limit with its toggle: the hours are needed only while the toggle is on.
WINDOWS = (
    (
        "prevent_rating_after",
        "rating_window_hours",
        "Enter the number of hours during which customers may rate, or turn the limit off.",
    ),
    (
        "prevent_change_after",
        "change_window_hours",
        "Enter the number of hours during which customers may change their rating, "
        "or turn the limit off.",
    ),
)
TARGET_MESSAGE = "The happiness target is a whole number from 0 to 100."


def _question(value) -> str:
    question = " ".join(str(value or "").split())
    if not question:
        raise ValidationError(QUESTION_MISSING)
    return question


def _reasons(value) -> str:
    """One reason per line (a list, or text with a line each), spaces folded, blank lines
    dropped; at most MAX_REASONS, each at most MAX_REASON_LENGTH characters, no repeats."""
    if isinstance(value, list | tuple):
        if any("\n" in str(item) or "\r" in str(item) for item in value):
            raise ValidationError("A reason is one line of text.")
        lines = [str(item) for item in value]
    else:
        lines = str(value or "").splitlines()
    reasons = [folded for folded in (" ".join(line.split()) for line in lines) if folded]
    problems = []
    if len(reasons) > MAX_REASONS:
        problems.append(
            f"List at most {MAX_REASONS} reasons, one per line (there are {len(reasons)})."
        )
    for reason in reasons:
        if len(reason) > MAX_REASON_LENGTH:
            problems.append(
                f"Keep each reason to {MAX_REASON_LENGTH} characters: "
                f"“{Truncator(reason).chars(40)}” has {len(reason)}."
            )
            break
    seen = set()
    for reason in reasons:
        key = reason.casefold()
        if key in seen:
            problems.append(f"“{reason}” is listed more than once.")
            break
        seen.add(key)
    if problems:
        raise ValidationError(problems)
    return "\n".join(reasons)


def _rating_app(value) -> MessengerApp | None:
    if value is None or value == "" or isinstance(value, MessengerApp):
        return value or None
    app = MessengerApp.objects.filter(pk=value).first() if str(value).isdigit() else None
    if app is None:
        raise ValidationError(f"There is no installed Messenger app {value}.")
    return app


CLEANERS = {
    "survey_question": _question,
    "low_rating_reasons": _reasons,
    "rating_app": _rating_app,
}


def rating_settings_clean(current: RatingSettings, changes: dict) -> dict:
    """The changes, cleaned, as they would be saved on `current`; a `ValidationError` keyed
    by field names every problem. Writes nothing."""
    errors: dict[str, list] = {}
    unknown = sorted(set(changes) - set(SETTINGS_FIELDS))
    for name in unknown:
        errors[name] = ["There is no such rating setting."]
    cleaned = {}
    for name, value in changes.items():
        if name in unknown:
            continue
        cleaner = CLEANERS.get(name)
        try:
            cleaned[name] = cleaner(value) if cleaner else value
        except ValidationError as error:
            errors[name] = error.messages
    for toggle, hours, message in WINDOWS:
        if hours in cleaned and cleaned[hours] is None:
            if cleaned.get(toggle, getattr(current, toggle)):
                errors.setdefault(hours, []).append(message)
            else:
                # Off and left empty: keep the hours stored for when it is turned on.
                del cleaned[hours]
    # The model's own validators: hours of at least 1, a target from 0 to 100, lengths.
    # (The app was looked up above: not again here.)
    candidate = RatingSettings(
        **{name: getattr(current, name) for name in SETTINGS_FIELDS if name != "rating_app"}
    )
    for name, value in cleaned.items():
        if name != "rating_app":
            setattr(candidate, name, value)
    try:
        candidate.full_clean(exclude=[*errors, "rating_app", "updated_by"], validate_unique=False)
    except ValidationError as error:
        for name, messages in error.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return cleaned


@transaction.atomic
def rating_settings_update(*, by, **changes) -> RatingSettings:
    """Change the settings named in `changes` (the rest stay as they are) on behalf of the
    user `by`; refused whole, with a `ValidationError` keyed by field, when any is wrong."""
    RatingSettings.load()
    current = RatingSettings.objects.select_for_update().get(pk=1)
    cleaned = rating_settings_clean(current, changes)
    for name, value in cleaned.items():
        setattr(current, name, value)
    current.updated_by = by if getattr(by, "pk", None) else None
    current.save()
    return current


@transaction.atomic
def happiness_target_set(*, target) -> RatingSettings:
    """The CSAT goal the reports measure against: a whole percentage from 0 to 100."""
    try:
        value = int(str(target).strip())
    except (TypeError, ValueError):
        raise ValidationError(TARGET_MESSAGE) from None
    if not 0 <= value <= 100:
        raise ValidationError(TARGET_MESSAGE)
    settings = RatingSettings.load()
    settings.happiness_target = value
    settings.save(update_fields=["happiness_target", "updated_at"])
    return settings
