"""Rating settings, installed Messenger apps, rating requests, decisions, ratings and history."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from conversations import clock
from conversations.models import (
    Channel,
    Contact,
    Conversation,
    ConversationClose,
    Teammate,
    Workflow,
)
from conversations.outbox import Deliverable
from ratings.rules import BOT, TEAMMATE, Switches, Windows, effective_windows, rule_words
from ratings.scale import DEFAULT_MIN_RATINGS

MIN_RATINGS_MESSAGE = "Ask for at least 1 rating before a CSAT is shown."
# The built-in defaults are in the catalogues (L3, L4): gettext_noop marks them for
# makemessages; the settings store them in the default language.
DEFAULT_QUESTION = gettext_noop("How would you rate the help you got from our team?")
# B: the question of the bot's survey (the one place it is said; in the catalogues, L2).
BOT_QUESTION = gettext_noop("How would you rate the help you got from our bot?")
DEFAULT_REASONS_LIST = (
    gettext_noop("Slow to answer"),
    gettext_noop("Problem not solved"),
    gettext_noop("Answer was unclear"),
    gettext_noop("Unfriendly tone"),
    gettext_noop("Had to repeat myself"),
)
DEFAULT_LOW_RATING_REASONS = "\n".join(DEFAULT_REASONS_LIST)


class Kind(models.TextChoices):
    """Whose help a rating request asks about (B): a teammate's (D2) or the bot's."""

    TEAMMATE = TEAMMATE, "Teammate"
    BOT = BOT, "Bot"


class MessengerApp(models.Model):
    """An installed Messenger app that can replace the standard survey (D3)."""

    name = models.CharField(max_length=120, unique=True)
    card_url = models.URLField(
        help_text="Address of the app's card, shown in the Messenger in place of the survey."
    )
    installed_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "installed Messenger app"

    def __str__(self):
        return self.name


class ManagerAlerts(models.TextChoices):
    """N4: how managers hear of terrible and bad ratings."""

    OFF = "off", "Off"
    IMMEDIATELY = "immediately", "Immediately, one email per rating"
    DAILY = "daily", "Daily digest"


# This process's copy of the settings row (`RatingSettings.as_of`): {"settings": instance}.
_COPY: dict = {}


class RatingSettings(models.Model):
    """The one set of rating settings of the installation (use `RatingSettings.load()`)."""

    ask_users = models.BooleanField(
        "For users",
        default=True,
        help_text="Ask for a conversation rating when a user's conversation is closed.",
    )
    ask_leads = models.BooleanField(
        "For leads",
        default=True,
        help_text="Ask for a conversation rating when a lead's conversation is closed.",
    )
    send_direct_outbound = models.BooleanField(
        "Sending for direct outbound conversations",
        default=True,
        help_text="Conversations a teammate started from the inbox.",
    )
    send_outbound_api_workflows = models.BooleanField(
        "Sending rating requests for outbound conversations started via the API or Workflows",
        default=False,
        help_text="A teammate must still have replied in the conversation.",
    )
    prevent_rating_after = models.BooleanField(
        "Prevent customers from rating after a given period of time", default=False
    )
    rating_window_hours = models.PositiveIntegerField(
        "Hours to rate",
        default=72,
        validators=[MinValueValidator(1)],
        help_text="Counted from the close. A workflow's own limit replaces it.",
    )
    prevent_change_after = models.BooleanField(
        "Prevent customers from changing their rating after a given period of time",
        default=False,
    )
    change_window_hours = models.PositiveIntegerField(
        "Hours to change a rating",
        default=24,
        validators=[MinValueValidator(1)],
        help_text="Counted from the close. On its own it never blocks a first rating.",
    )
    limit_asking_contact = models.BooleanField(
        "Don't ask the same contact more than once in a given number of days",
        default=False,
        help_text="The fatigue guard (E9): a close within that many days of the contact's "
        "last rating request, in any conversation, sends nothing.",
    )
    fatigue_days = models.PositiveIntegerField(
        "Days between two requests to a contact",
        default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
        help_text="Counted from the last request sent to the contact to this close.",
    )
    ask_bot = models.BooleanField(
        "Ask for a rating of the bot's conversations",
        default=False,
        help_text="A conversation the bot (an AI agent) closed with no teammate reply gets "
        "its own survey about the bot.",
    )
    bot_rating_window_hours = models.PositiveIntegerField(
        "Hours to rate the bot",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="For the bot's survey, when preventing rating after a period. Empty: the "
        "hours to rate above.",
    )
    bot_change_window_hours = models.PositiveIntegerField(
        "Hours to change a rating of the bot",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="For the bot's survey, when preventing changes after a period. Empty: the "
        "hours to change a rating above.",
    )
    rating_app = models.ForeignKey(
        MessengerApp,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        verbose_name="Rating app",
        help_text="Sent in the Messenger instead of the standard survey. "
        "Email conversations still get the email survey.",
    )
    happiness_target = models.PositiveSmallIntegerField(
        "Happiness target (%)",
        default=80,
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    min_ratings_for_csat = models.PositiveIntegerField(
        "Ratings needed for a CSAT",
        default=DEFAULT_MIN_RATINGS,
        validators=[MinValueValidator(1, MIN_RATINGS_MESSAGE)],
        help_text="With fewer ratings the reports say “too few ratings” instead of a "
        "percentage and claim nothing against the target (S4a).",
    )
    survey_question = models.CharField(max_length=200, default=DEFAULT_QUESTION)
    low_rating_reasons = models.TextField(
        "Reasons for a low rating",
        default=DEFAULT_LOW_RATING_REASONS,
        blank=True,
        help_text="One per line; offered after a terrible or bad rating.",
    )
    manager_alerts = models.CharField(
        "Alerts to managers",
        max_length=12,
        choices=ManagerAlerts.choices,
        default=ManagerAlerts.IMMEDIATELY,
        help_text="Terrible and bad ratings, emailed to the managers (those who may read the "
        "reports) as they come, or in one email a day. The teammate rated is always emailed "
        "unless they turned alerts off.",
    )
    retention_days = models.PositiveIntegerField(
        "Erase message bodies after (days)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="G4: every day, the message bodies of conversations closed more than this "
        "many days ago are erased (ratings and figures stay). Empty: kept for ever.",
    )
    # L3: the survey question and low-rating reasons in other languages, by language code:
    # {"fr": {"survey_question": "…", "low_rating_reasons": "…"}}; what is missing falls back
    # to the texts above. A language's reasons are the default list's, line for line (the
    # stored and reported reason is always the default-language one).
    survey_texts = models.JSONField("Survey in other languages", default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="Last changed by",
    )

    class Meta:
        verbose_name = "rating settings"
        verbose_name_plural = "rating settings"

    def __str__(self):
        return "Rating settings"

    def save(self, *args, **kwargs):
        self.pk = 1
        super().save(*args, **kwargs)
        _COPY.clear()  # this process's copy (`as_of`); the others see `updated_at` move

    def delete(self, *args, **kwargs):
        _COPY.clear()
        return super().delete(*args, **kwargs)

    @classmethod
    def load(cls) -> "RatingSettings":
        """The row, created with the defaults when missing (for the writes)."""
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings

    @classmethod
    def current(cls) -> "RatingSettings":
        """The row as it is, or the defaults unsaved when there is none: a read (a page's GET,
        a report) never writes."""
        return cls.objects.filter(pk=1).first() or cls()

    @classmethod
    def version(cls) -> models.Subquery:
        """The settings' `updated_at` (None without a row) as an expression, to annotate on
        the query a hot path makes anyway, so that `as_of` can tell whether this process's
        copy is still the saved one without a query of its own."""
        return models.Subquery(cls.objects.filter(pk=1).values("updated_at")[:1])

    @classmethod
    def as_of(cls, version) -> "RatingSettings":
        """The settings saved at `version` (read by `version()` in the caller's statement, so
        in the same snapshot as the caller's rows): this process's copy when it is that one,
        else the row read again (one query) and kept; the defaults, unsaved, without a row.
        Every save moves `updated_at` (and clears this process's copy); the copy is shared by
        the threads of the process: read it, never change it."""
        if version is None:
            return cls()
        copy = _COPY.get("settings")
        if copy is None or copy.updated_at != version:
            copy = cls.current()
            if copy.pk is not None:
                _COPY["settings"] = copy
        return copy

    @property
    def reasons(self) -> list[str]:
        return [line.strip() for line in self.low_rating_reasons.splitlines() if line.strip()]

    def question_in(self, language: str, kind: str = TEAMMATE) -> str:
        """L3: the survey question in `language`: the admin's text for it, else the default
        text (the built-in default question in the catalogue's words, L4). The bot's survey
        (B) asks the bot's question, in the catalogue's words."""
        if kind == BOT:
            with translation.override(language):
                return str(_(BOT_QUESTION))
        own = (self.survey_texts or {}).get(language, {}).get("survey_question", "")
        if own.strip():
            return own.strip()
        if self.survey_question == DEFAULT_QUESTION:
            with translation.override(language):
                return str(_(DEFAULT_QUESTION))
        return self.survey_question

    def reasons_in(self, language: str) -> dict[str, str]:
        """L3: each low-rating reason (the default-language text, which is what is stored and
        reported) → its words in `language`: the admin's lines for that language, line for
        line, else the built-in defaults in the catalogue's words, else the default text."""
        reasons = self.reasons
        own = (self.survey_texts or {}).get(language, {}).get("low_rating_reasons", "")
        lines = [line.strip() for line in own.splitlines() if line.strip()]
        if len(lines) == len(reasons):
            return dict(zip(reasons, lines, strict=True))
        with translation.override(language):
            return {
                reason: str(_(reason)) if reason in DEFAULT_REASONS_LIST else reason
                for reason in reasons
            }

    @property
    def switches(self) -> Switches:
        """What E1 and E2 read."""
        return Switches(
            for_users=self.ask_users,
            for_leads=self.ask_leads,
            direct_outbound=self.send_direct_outbound,
            outbound_api_workflows=self.send_outbound_api_workflows,
            fatigue_days=self.fatigue_days if self.limit_asking_contact else None,
            for_bot=self.ask_bot,
        )

    def windows(self, workflow: Workflow | None, kind: str = TEAMMATE) -> Windows:
        """A4–A6 with W1/W2: the hour limits for a conversation started by `workflow` (or by
        none); for the bot's request (B4) the bot's hours when set."""
        bot = kind == BOT
        return effective_windows(
            prevent_rating=self.prevent_rating_after,
            rating_hours=self.rating_window_hours,
            prevent_change=self.prevent_change_after,
            change_hours=self.change_window_hours,
            workflow_rating_hours=workflow.rating_window_hours if workflow else None,
            workflow_change_hours=workflow.change_window_hours if workflow else None,
            bot_rating_hours=self.bot_rating_window_hours if bot else None,
            bot_change_hours=self.bot_change_window_hours if bot else None,
        )


class RatingRequest(Deliverable):
    """The survey sent for a conversation: at most one of each kind per conversation (E6, B5,
    D4): a teammate's and the bot's."""

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="rating_requests"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEAMMATE)
    close = models.OneToOneField(
        ConversationClose, on_delete=models.CASCADE, related_name="rating_request"
    )
    teammate = models.ForeignKey(
        Teammate, null=True, on_delete=models.SET_NULL, related_name="rating_requests"
    )
    # G5: the teammate's id, kept when the teammate is deleted (`teammate` is then None and
    # `conversations.models.FormerTeammate` keeps the name); 0 for none. Set by save().
    teammate_key = models.PositiveBigIntegerField(default=0, db_default=0)
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="rating_requests")
    channel = models.CharField(max_length=16, choices=Channel.choices)
    app = models.ForeignKey(MessengerApp, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField()
    # M11: the survey email came back undelivered (a delivery status notification).
    bounced_at = models.DateTimeField(null=True, blank=True)
    bounce = models.TextField(blank=True)
    # A10: when a rating left by auto posts (a mail scanner's burst) was last discarded; auto
    # posts within a minute of it are refused.
    discarded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            # Reports (R1, R2): requests sent in a period, counted, per teammate and joined to
            # their rating, read from the index alone (key columns, so SQLite has it too).
            models.Index(fields=["created_at", "teammate", "id"], name="request_created_cover_idx"),
            models.Index(fields=["teammate", "created_at"], name="request_teammate_created_idx"),
            # E9: a contact's latest request.
            models.Index(fields=["contact", "created_at"], name="request_contact_created_idx"),
            # D5, D7, D8: the requests still to deliver (normally none), read every few seconds.
            models.Index(
                fields=["created_at"],
                condition=models.Q(delivered_at__isnull=True),
                name="request_undelivered_idx",
            ),
        ]
        constraints = [
            models.UniqueConstraint(fields=["conversation", "kind"], name="request_once_per_kind")
        ]

    def __str__(self):
        if self.kind == Kind.BOT:
            return f"Bot rating request for #{self.conversation_id}"
        return f"Rating request for #{self.conversation_id}"

    def save(self, *args, **kwargs):
        if self.teammate_id:
            self.teammate_key = self.teammate_id
        super().save(*args, **kwargs)


class RatingDecision(models.Model):
    """What one close decided: a request sent, or a skip with the rule that stopped it (D5)."""

    class Outcome(models.TextChoices):
        SENT = "sent", "Request sent"
        SKIPPED = "skipped", "Skipped"

    close = models.OneToOneField(
        ConversationClose, on_delete=models.CASCADE, related_name="decision"
    )
    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="rating_decisions"
    )
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    # B3: the kind of request this close decided (the bot's after a bot close with no
    # teammate reply).
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEAMMATE)
    rule = models.CharField(max_length=10, blank=True)
    request = models.ForeignKey(RatingRequest, null=True, blank=True, on_delete=models.CASCADE)
    decided_at = models.DateTimeField()

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self):
        return f"{self.get_outcome_display()} {self.rule}".strip()


class Source(models.TextChoices):
    """K12: where a customer's answer came in: the rating page behind the survey email's
    links, the Messenger's rating card (its card API), or a call of the rating services
    without either face (an integration's script, a management command)."""

    EMAIL = "email", "Email link"
    MESSENGER = "messenger", "Messenger"
    API = "api", "API"

    @classmethod
    def of_channel(cls, channel: str) -> str:
        """The face a request's channel is answered on (D1): its email's links, or its
        Messenger card."""
        return cls.MESSENGER if channel == Channel.MESSENGER else cls.EMAIL


class Rating(models.Model):
    """The customer's current answer to a request. Reports read this; the history is kept
    in `RatingEvent` (A8)."""

    Source = Source

    class Value(models.IntegerChoices):
        AMAZING = 5, "Amazing"
        GREAT = 4, "Great"
        OK = 3, "OK"
        BAD = 2, "Bad"
        TERRIBLE = 1, "Terrible"

    request = models.OneToOneField(RatingRequest, on_delete=models.CASCADE, related_name="rating")
    # Copied from the request so that reports group and filter without a join.
    teammate = models.ForeignKey(
        Teammate, null=True, on_delete=models.SET_NULL, related_name="ratings"
    )
    # G5: as the request's `teammate_key`, the teammate's id for ever (0 for none).
    teammate_key = models.PositiveBigIntegerField(default=0, db_default=0)
    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="ratings")
    # Copied from the request (B): the bot's ratings are reported apart from the teammates'.
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEAMMATE)
    value = models.PositiveSmallIntegerField(
        choices=Value.choices, validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    comment = models.TextField(blank=True)
    reasons = models.JSONField(default=list, blank=True)
    rated_at = models.DateTimeField()
    changed_at = models.DateTimeField()
    commented_at = models.DateTimeField(null=True, blank=True)
    # K12: where the rating was first given (each answer's own is in its history entry).
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    # A10: when an auto post (the page posting its link's reaction on load) last recorded or
    # changed it; None once a person posted (pressed a reaction, left a comment) since.
    auto_at = models.DateTimeField(null=True, blank=True)
    # R3: a manager's follow-up on the rating (who and when).
    followed_up_at = models.DateTimeField(null=True, blank=True)
    followed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-rated_at"]
        indexes = [
            # Reports: the ratings of a period in R3's order (newest first, scanned backwards)
            # with what R1/R2 count and join on, so the aggregates read the index alone.
            models.Index(
                fields=["rated_at", "id", "value", "teammate", "request"],
                name="rating_rated_cover_idx",
            ),
            # G5: the reports filter a teammate's ratings by `teammate_key` (a deleted teammate's
            # too), so their indexes are on it, not on the foreign key.
            models.Index(fields=["teammate_key", "rated_at"], name="rating_teammate_rated_idx"),
            # R3's reaction filters; R1's reasons (only terrible and bad ratings have any).
            models.Index(fields=["value", "rated_at", "id"], name="rating_value_rated_idx"),
            # R3's follow-up list: terrible and bad ratings not followed up yet.
            models.Index(
                fields=["rated_at", "id"],
                # R3's "to follow up" counts them by kind (B6): an index-only count.
                include=["kind"],
                condition=models.Q(value__in=[1, 2], followed_up_at__isnull=True),
                name="rating_follow_up_todo_idx",
            ),
            # R4: a teammate's positive ratings with a comment.
            models.Index(
                fields=["teammate_key", "rated_at", "id"],
                condition=models.Q(value__in=[4, 5]) & ~models.Q(comment=""),
                name="rating_achievements_idx",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(value__gte=1, value__lte=5), name="rating_value_1_to_5"
            ),
            models.UniqueConstraint(fields=["conversation", "kind"], name="rating_once_per_kind"),
        ]

    def __str__(self):
        return f"{self.get_value_display()} for #{self.conversation_id}"

    def save(self, *args, **kwargs):
        if self.teammate_id:
            self.teammate_key = self.teammate_id
        super().save(*args, **kwargs)


class RatingReason(models.Model):
    """One low-rating reason ticked with a rating's comment (A1), a row each so that reports
    count and filter them in SQL."""

    rating = models.ForeignKey(Rating, on_delete=models.CASCADE, related_name="reason_rows")
    reason = models.CharField(max_length=120)

    class Meta:
        ordering = ["reason"]
        constraints = [
            models.UniqueConstraint(fields=["rating", "reason"], name="rating_reason_once")
        ]
        indexes = [models.Index(fields=["reason", "rating"], name="reason_rating_idx")]

    def __str__(self):
        return self.reason


class RatingEvent(models.Model):
    """A8: every accepted rating, change and comment, and every discard of a rating (A10),
    never updated or deleted. The history belongs to the request: a discarded rating's row
    is gone (reports count only what stands), its history stays, its `rating` then None."""

    class Kind(models.TextChoices):
        RATED = "rated", "Rated"
        CHANGED = "changed", "Changed"
        COMMENTED = "commented", "Commented"
        DISCARDED = "discarded", "Discarded"

    request = models.ForeignKey(RatingRequest, on_delete=models.CASCADE, related_name="history")
    rating = models.ForeignKey(
        Rating, null=True, blank=True, on_delete=models.SET_NULL, related_name="history"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # The rule behind a discard (A10); empty for an answer.
    rule = models.CharField(max_length=10, blank=True)
    # K12: where this answer (or the post that discarded a rating, A10) came in.
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.API)
    value = models.PositiveSmallIntegerField(choices=Rating.Value.choices)
    comment = models.TextField(blank=True)
    reasons = models.JSONField(default=list, blank=True)
    at = models.DateTimeField()

    class Meta:
        ordering = ["at", "id"]

    def __str__(self):
        return f"{self.get_kind_display()} {self.value} at {self.at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Rating history is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Rating history is append-only.")

    @property
    def rule_words(self) -> str:
        return rule_words(self.rule) if self.rule else ""


# DailyFigures' column of each rating value.
VALUE_COLUMNS = ("v1", "v2", "v3", "v4", "v5")


def value_column(value: int) -> str:
    return f"v{int(value)}"


class DailyFigures(models.Model):
    """The report figures of one local day (TIME_ZONE) and one teammate, kept up to date by
    `ratings.figures` in the transaction of each request and answer, so that R1 and R2 add up
    a few rows per day instead of scanning millions of ratings. `manage.py figures_rebuild`
    recomputes them from the requests and ratings (after a change of TIME_ZONE, say)."""

    day = models.DateField()
    # The teammate's id, 0 for a request without a teammate (none replied, D2).
    teammate_key = models.PositiveIntegerField(default=0)
    # B: the bot's figures (teammate_key 0) are kept apart from the teammates'.
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEAMMATE)
    # Requests sent that day, and how many of them have a rating by now (S3).
    requests = models.IntegerField(default=0)
    answered = models.IntegerField(default=0)
    # Ratings first given that day, by their current value (S1).
    v1 = models.IntegerField(default=0)
    v2 = models.IntegerField(default=0)
    v3 = models.IntegerField(default=0)
    v4 = models.IntegerField(default=0)
    v5 = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily figures"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "teammate_key"], name="daily_figures_once"
            )
        ]
        indexes = [models.Index(fields=["teammate_key", "day"], name="daily_figures_teammate_idx")]

    def __str__(self):
        return f"{self.day} teammate {self.teammate_key or '—'}"


class DailyReasons(models.Model):
    """How many ratings first given on a local day, per teammate, came with a low-rating
    reason (A1); kept with `DailyFigures`."""

    day = models.DateField()
    teammate_key = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.TEAMMATE)
    reason = models.CharField(max_length=120)
    count = models.IntegerField(default=0)

    class Meta:
        verbose_name_plural = "daily reasons"
        constraints = [
            models.UniqueConstraint(
                fields=["day", "kind", "teammate_key", "reason"], name="daily_reasons_once"
            )
        ]

    def __str__(self):
        return f"{self.day} {self.reason}: {self.count}"


# --- alerts (N) ----------------------------------------------------------------------------------


class AlertPreference(models.Model):
    """N3: a staff user's choice about rating alerts (none stored: alerts on)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="alert_preference"
    )
    alerts_off = models.BooleanField("Rating alerts off", default=False)
    changed_at = models.DateTimeField(default=clock.now)

    def __str__(self):
        return f"Rating alerts {'off' if self.alerts_off else 'on'} for {self.user}"


class RatingAlert(models.Model):
    """N1, N2, N5: the outbox row of one alert, written in the transaction that accepted the
    low rating (or its comment): at most one per rating and kind. Its task finds the
    recipients and writes one `AlertDelivery` each (`fanned_out_at`), or cancels it."""

    class Kind(models.TextChoices):
        RATED = "rated", "Low rating"
        COMMENTED = "commented", "Comment on a low rating"

    request = models.ForeignKey(RatingRequest, on_delete=models.CASCADE, related_name="alerts")
    # None once the rating is gone (discarded as a mail scanner's, A10).
    rating = models.ForeignKey(
        Rating, null=True, blank=True, on_delete=models.SET_NULL, related_name="alerts"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    value = models.PositiveSmallIntegerField(choices=Rating.Value.choices)
    created_at = models.DateTimeField()
    # Not sent before (an auto post waits out the scanner window, A10).
    due_at = models.DateTimeField()
    fanned_out_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["rating", "kind"], name="rating_alert_once")]
        indexes = [
            models.Index(
                fields=["due_at"],
                condition=models.Q(fanned_out_at__isnull=True, cancelled_at__isnull=True),
                name="rating_alert_pending_idx",
            ),
            models.Index(fields=["created_at", "kind"], name="rating_alert_created_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} alert for #{self.request.conversation_id}"


class AlertDelivery(Deliverable):
    """N5: one alert's email to one recipient, delivered exactly once (`deliver_once`)."""

    class Role(models.TextChoices):
        TEAMMATE = "teammate", "The teammate rated"
        MANAGER = "manager", "Manager"

    alert = models.ForeignKey(RatingAlert, on_delete=models.CASCADE, related_name="deliveries")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, choices=Role.choices)
    created_at = models.DateTimeField()
    # Why nothing was sent after all (the rating went away before its turn), else blank.
    skipped = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "alert deliveries"
        constraints = [
            models.UniqueConstraint(fields=["alert", "user"], name="alert_delivery_once")
        ]

    def __str__(self):
        return f"Alert {self.alert_id} to {self.user}"


class AlertDigest(Deliverable):
    """N4: a manager's daily digest of one local day's terrible and bad ratings: one per
    manager and day, whatever runs twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    day = models.DateField()
    alert_ids = models.JSONField(default=list)
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["-day", "-id"]
        constraints = [models.UniqueConstraint(fields=["user", "day"], name="alert_digest_once")]

    def __str__(self):
        return f"Digest of {self.day} to {self.user}"


class Erasure(models.Model):
    """G3: who erased whose personal data and when, with what was erased; or a retention run
    (G4), which names no contact. Never edited (the admin shows it read-only)."""

    class Reason(models.TextChoices):
        REQUEST = "request", "Contact's data erased"
        RETENTION = "retention", "Retention period"

    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.REQUEST)
    # The contact's id (the row stays, its personal data replaced); none for retention.
    contact_key = models.PositiveBigIntegerField(null=True, blank=True)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name="erased by",
    )
    # The user's name as it was, kept when the account is deleted later.
    by_name = models.CharField("erased by (name)", max_length=150, blank=True)
    at = models.DateTimeField()
    conversations = models.PositiveIntegerField(default=0)
    parts = models.PositiveIntegerField("message bodies", default=0)
    ratings = models.PositiveIntegerField(default=0)
    history = models.PositiveIntegerField("history entries", default=0)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["contact_key"], name="erasure_contact_idx")]

    def __str__(self):
        if self.reason == self.Reason.RETENTION:
            return f"Retention at {self.at:%Y-%m-%d %H:%M}"
        return f"Contact #{self.contact_key} erased at {self.at:%Y-%m-%d %H:%M}"
