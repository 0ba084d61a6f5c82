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
from django.utils.translation import get_language_info

from conversations.languages import default_language, language_clean
from ratings.models import ManagerAlerts, MessengerApp, RatingSettings

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
    "limit_asking_contact",
    "fatigue_days",
    "survey_question",
    "low_rating_reasons",
    "survey_texts",
    "happiness_target",
    "min_ratings_for_csat",
    "manager_alerts",
    "retention_days",
    # B: the bot's survey, and its own hours (empty: the hours above apply).
    "ask_bot",
    "bot_rating_window_hours",
    "bot_change_window_hours",
)
MAX_REASONS = 12
MAX_REASON_LENGTH = 80
QUESTION_MISSING = "Write the question shown above the five reactions."
# Each limit with its toggle (A4, A5 hours; E9 days): the number is needed only while the
# toggle is on.
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
    (
        "limit_asking_contact",
        "fatigue_days",
        "Enter the number of days (1 to 365) between two requests to the same contact, "
        "or turn the fatigue guard off.",
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


def _survey_texts(value) -> dict:
    """L3: {"fr": {"survey_question": …, "low_rating_reasons": …}, …} for the languages other
    than the default; each text cleaned like the default one, an empty one dropped (it falls
    back to the default text)."""
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValidationError(
            'The survey texts are given by language: {"fr": {"survey_question": "…", '
            '"low_rating_reasons": "…"}}.'
        )
    cleaned, problems = {}, []
    for code, texts in value.items():
        try:
            language = language_clean(code)
        except ValidationError as error:
            problems.extend(error.messages)
            continue
        name = language_name(language) if language else ""
        if not language or language == default_language():
            problems.append(
                f"{name or 'The default language'} is the default language: its texts are the "
                "survey question and the reasons for a low rating."
            )
            continue
        if not isinstance(texts, dict) or set(texts) - {"survey_question", "low_rating_reasons"}:
            problems.append(f"{name}: give survey_question and low_rating_reasons only.")
            continue
        own = {}
        question = " ".join(str(texts.get("survey_question") or "").split())
        if len(question) > QUESTION_LENGTH:
            problems.append(f"{name}: the question is at most {QUESTION_LENGTH} characters.")
        elif question:
            own["survey_question"] = question
        try:
            reasons = _reasons(texts.get("low_rating_reasons") or "")
        except ValidationError as error:
            problems.extend(f"{name}: {message}" for message in error.messages)
            reasons = ""
        if reasons:
            own["low_rating_reasons"] = reasons
        if own:
            cleaned[language] = own
    if problems:
        raise ValidationError(problems)
    return cleaned


def _texts_match_reasons(texts: dict, reasons: str) -> list[str]:
    """L3: a language's reasons stand for the default ones line for line (the default text is
    what is stored and reported), so they are as many."""
    count = len([line for line in reasons.splitlines() if line.strip()])
    problems = []
    for language, own in texts.items():
        lines = [line for line in own.get("low_rating_reasons", "").splitlines() if line.strip()]
        if lines and len(lines) != count:
            problems.append(
                f"The {language_name(language)} reasons are {len(lines)} lines and the default "
                f"list {count}: give one line for each reason, in the same order (or none, "
                "to show the default ones)."
            )
    return problems


def language_name(code: str) -> str:
    return get_language_info(code)["name"]


def _rating_app(value) -> MessengerApp | None:
    if value is None or value == "" or isinstance(value, MessengerApp):
        return value or None
    app = MessengerApp.objects.filter(pk=value).first() if str(value).isdigit() else None
    if app is None:
        raise ValidationError(f"There is no installed Messenger app {value}.")
    return app


def _manager_alerts(value) -> str:
    """N4: off, immediately or daily."""
    if value not in ManagerAlerts.values:
        choices = ", ".join(ManagerAlerts.values)
        raise ValidationError(f"Alerts to managers are one of: {choices}.")
    return value


RETENTION_MESSAGE = (
    "Keep message bodies for a whole number of days, at least 1, or leave it empty to keep "
    "them for ever (G4)."
)


def _retention_days(value) -> int | None:
    """G4: empty (off) or a whole number of days, at least 1."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        raise ValidationError(RETENTION_MESSAGE)
    try:
        days = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationError(RETENTION_MESSAGE) from None
    if days < 1 or days > 36_500:
        raise ValidationError(RETENTION_MESSAGE)
    return days


CLEANERS = {
    "manager_alerts": _manager_alerts,
    "retention_days": _retention_days,
    "survey_question": _question,
    "low_rating_reasons": _reasons,
    "rating_app": _rating_app,
    "survey_texts": _survey_texts,
}
QUESTION_LENGTH = RatingSettings._meta.get_field("survey_question").max_length


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
    if ("survey_texts" in cleaned or "low_rating_reasons" in cleaned) and not (
        {"survey_texts", "low_rating_reasons"} & set(errors)
    ):
        problems = _texts_match_reasons(
            cleaned.get("survey_texts", current.survey_texts or {}),
            cleaned.get("low_rating_reasons", current.low_rating_reasons),
        )
        if problems:
            errors["survey_texts"] = problems
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
