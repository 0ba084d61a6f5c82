"""Contacts, teammates, workflows, conversations and their parts.

A conversation keeps running figures (visible reply characters, last reply time, teammate
replies, last teammate replier, number of contacts) that the services update as parts are
added, so that deciding on a close never reads the whole thread. Every close is kept as a
`ConversationClose` row holding those figures as they were at that moment.
"""

import time
from base64 import b32encode
from binascii import unhexlify
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import pgettext_lazy
from django_otp.models import Device, ThrottlingMixin, TimestampMixin
from django_otp.oath import TOTP
from django_otp.util import hex_validator, random_hex

from conversations import clock, text
from conversations.encryption import EncryptedTextField


class Teammate(models.Model):
    """A support agent: the profile of a staff user who works in the admin inbox."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="teammate"
    )
    name = models.CharField(max_length=150)
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def email(self) -> str:
        return self.user.email


class FormerTeammate(models.Model):
    """G5: the name a deleted teammate had, kept under their id (the `teammate_key` their
    rating requests and ratings keep), so that reports still name them. Written when the
    teammate is deleted (`conversations.people.on_teammate_deleted`)."""

    teammate_key = models.PositiveIntegerField(unique=True)
    name = models.CharField(max_length=150)
    deleted_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return f"{self.name} (deleted)"


class Contact(models.Model):
    """A customer: a signed-up user or an anonymous lead who left an email address."""

    class Role(models.TextChoices):
        USER = "user", "User"
        LEAD = "lead", "Lead"

    role = models.CharField(max_length=8, choices=Role.choices)
    name = models.CharField(max_length=200, blank=True)
    # Blank only for a Messenger lead who has not left an address yet.
    email = models.EmailField(max_length=254, db_index=True, blank=True)
    # The Messenger's identities: a user's id in the company's own app (verified by its
    # user_hash), or a lead's anonymous visitor id (kept by the widget in the visitor's browser).
    external_id = models.CharField(
        "user id in your app",
        max_length=255,
        null=True,
        blank=True,
        unique=True,
        help_text="The id your app gives this user: the Messenger knows them by it (W3).",
    )
    visitor_id = models.CharField(
        "Messenger visitor id", max_length=64, null=True, blank=True, unique=True
    )
    # L1: the language surveys, rating pages and the Messenger speak to this contact; blank:
    # the installation's default (DEFAULT_LANGUAGE).
    language = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=settings.LANGUAGES,
        help_text="The language of this contact's surveys and rating pages. "
        "Empty: the installation's default language.",
    )
    created_at = models.DateTimeField(default=clock.now)
    # G1: when the contact's personal data was erased (`ratings.erasure.contact_erase`).
    erased_at = models.DateTimeField(null=True, blank=True, editable=False)
    # K19: every Messenger link made for this contact carries this number; "Revoke Messenger
    # links" (and erasure) raise it, so that every link made before is refused.
    messenger_links_epoch = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        ordering = ["name", "email"]

    def __str__(self):
        if self.name and self.email:
            return f"{self.name} <{self.email}>"
        return self.name or self.email or f"Visitor {self.pk}"


class Workflow(models.Model):
    """An automation that starts conversations; it may carry its own rating windows (W1)."""

    name = models.CharField(max_length=200, unique=True)
    rating_window_hours = models.PositiveIntegerField(
        "Hours to rate (replaces the rating settings)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Hours after the close during which this workflow's conversations accept a "
        "first rating (W1). Empty: the rating settings apply (W2).",
    )
    change_window_hours = models.PositiveIntegerField(
        "Hours to change a rating (replaces the rating settings)",
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="Hours after the close during which a rating of this workflow's conversations "
        "may be changed (W1). Empty: the rating settings apply (W2).",
    )
    created_at = models.DateTimeField(default=clock.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Channel(models.TextChoices):
    MESSENGER = "messenger", "Messenger"
    EMAIL = "email", "Email"


class Origin(models.TextChoices):
    CUSTOMER = "customer", "Customer"
    DIRECT_OUTBOUND = "direct_outbound", "Direct outbound"
    WORKFLOW = "workflow", "Workflow"
    API = "api", "API"


class State(models.TextChoices):
    # L2: the Messenger shows a conversation's state to its customer, in their language.
    OPEN = "open", pgettext_lazy("conversation state", "Open")
    SNOOZED = "snoozed", pgettext_lazy("conversation state", "Snoozed")
    CLOSED = "closed", pgettext_lazy("conversation state", "Closed")


class Conversation(models.Model):
    subject = models.CharField(max_length=255, blank=True)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    origin = models.CharField(max_length=16, choices=Origin.choices)
    state = models.CharField(max_length=8, choices=State.choices, default=State.OPEN)
    assignee = models.ForeignKey(
        Teammate, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned"
    )
    started_by_teammate = models.ForeignKey(
        Teammate, null=True, blank=True, on_delete=models.SET_NULL, related_name="started"
    )
    workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.PROTECT, related_name="conversations"
    )
    contacts = models.ManyToManyField(Contact, related_name="conversations")
    snoozed_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    last_reply_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    # Running figures kept by the services (see the module docstring).
    reply_characters = models.PositiveIntegerField(default=0)
    teammate_reply_count = models.PositiveIntegerField(default=0)
    last_teammate_replier = models.ForeignKey(
        Teammate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_count = models.PositiveIntegerField(default=0)
    # The bot's messages (B: bot ratings): their visible characters and the last one's time.
    bot_characters = models.PositiveIntegerField(default=0)
    last_bot_message_at = models.DateTimeField(null=True, blank=True)

    # What the inbox lists (I1, I2), kept by the services with each message: the time of the
    # last message of a contact or a teammate (the start, before any), who wrote it, a
    # snippet of it, and the first line of the first message (for a conversation without a
    # subject).
    last_message_at = models.DateTimeField(null=True, blank=True)
    last_message_from = models.CharField(
        max_length=8,
        blank=True,
        default="",
        choices=[("contact", "Customer"), ("teammate", "Teammate")],
    )
    preview = models.CharField(max_length=200, blank=True, default="")
    first_line = models.CharField(max_length=200, blank=True, default="")
    # G4: when retention last erased its message bodies (`conversations.erasure`).
    bodies_erased_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [
            models.Index(fields=["state", "snoozed_until"], name="conv_state_snooze_idx"),
            models.Index(fields=["state", "-updated_at"], name="conv_state_updated_idx"),
            models.Index(fields=["state", "-last_message_at"], name="conv_state_message_idx"),
            models.Index(
                fields=["assignee", "state", "-last_message_at"], name="conv_assignee_message_idx"
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="snoozed") | models.Q(snoozed_until__isnull=False),
                name="conv_snoozed_has_wake_time",
            ),
        ]

    def __str__(self):
        return self.subject or f"Conversation #{self.pk}"


class BodyFormat(models.TextChoices):
    TEXT = text.TEXT, "Plain text"
    HTML = text.HTML, "HTML"


class Part(models.Model):
    """One entry in a conversation's thread."""

    class Kind(models.TextChoices):
        REPLY = "reply", "Reply"
        NOTE = "note", "Internal note"
        BOT = "bot", "Bot message"
        EVENT = "event", "Event"

    class Event(models.TextChoices):
        CLOSED = "closed", "Closed"
        CLOSED_QUIETLY = "closed_quietly", "Closed quietly"
        REOPENED = "reopened", "Reopened"
        SNOOZED = "snoozed", "Snoozed"
        WOKE = "woke", "Woke from snooze"
        RATING_REQUESTED = "rating_requested", "Rating requested"
        RATED = "rated", "Rated"
        RATING_DISCARDED = "rating_discarded", "Rating discarded"

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="parts")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    event = models.CharField(max_length=20, choices=Event.choices, blank=True)
    author_teammate = models.ForeignKey(
        Teammate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    author_contact = models.ForeignKey(
        Contact, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    body = models.TextField(blank=True)
    # E3a/E3b: `text` is stored as typed and every character is seen; `html` is sanitised HTML
    # whose visible text is seen (conversations.text.body_visible_text, body_html).
    body_format = models.CharField(
        max_length=4, choices=BodyFormat.choices, default=BodyFormat.HTML, db_default="html"
    )
    # The email's Message-ID for a part that came or went by mail (and the survey's event): it
    # threads replies to it (In-Reply-To, References) and makes a message received twice one
    # part.
    message_id = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField()

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [
            models.Index(fields=["conversation", "created_at"], name="part_conv_time_idx"),
            models.Index(
                fields=["message_id"], condition=~models.Q(message_id=""), name="part_message_idx"
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["conversation", "message_id"],
                condition=~models.Q(message_id=""),
                name="part_message_once",
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} in #{self.conversation_id}"

    @property
    def author(self):
        return self.author_teammate or self.author_contact

    @property
    def visible_text(self) -> str:
        """What a reader sees of the body (E3 counts it)."""
        return text.body_visible_text(self.body, self.body_format)

    @property
    def html(self):
        """The body as a page draws it (safe HTML)."""
        return text.body_html(self.body, self.body_format)


class ConversationClose(models.Model):
    """A close, with the facts the rating rules need as they were at that moment."""

    conversation = models.ForeignKey(Conversation, on_delete=models.CASCADE, related_name="closes")
    closed_by = models.ForeignKey(
        Teammate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    closed_at = models.DateTimeField()
    quiet = models.BooleanField(default=False)
    # B: the bot closed it (no teammate), with its messages' figures as they were then.
    by_bot = models.BooleanField(default=False)
    bot_characters = models.PositiveIntegerField(default=0)
    last_bot_message_at = models.DateTimeField(null=True, blank=True)
    reply_characters = models.PositiveIntegerField()
    last_reply_at = models.DateTimeField(null=True, blank=True)
    teammate_replied = models.BooleanField()
    last_teammate_replier = models.ForeignKey(
        Teammate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    contact_count = models.PositiveIntegerField()
    contact_role = models.CharField(
        max_length=8, blank=True, help_text="Role of the one contact; empty for a group."
    )

    class Meta:
        ordering = ["-closed_at", "-id"]
        indexes = [
            models.Index(fields=["conversation", "-closed_at"], name="close_conv_time_idx"),
            # The recent closes (a receiver's sweep every few seconds reads the last hour's).
            models.Index(fields=["closed_at"], name="close_time_idx"),
        ]

    def __str__(self):
        return f"Close of #{self.conversation_id} at {self.closed_at:%Y-%m-%d %H:%M}"


def default_totp_key() -> str:
    """A new TOTP secret: 20 random bytes, in hex (django-otp's default)."""
    return random_hex(20)


def totp_key_validator(value):
    hex_validator()(value)


class TOTPDevice(TimestampMixin, ThrottlingMixin, Device):
    """K8: a staff user's authenticator app (a TOTP second factor), django-otp's own TOTPDevice
    with its key kept encrypted at rest (K3's EncryptedTextField): the column holds a Fernet
    token, never the secret; `manage.py rotate_encryption_key` re-encrypts it with the others.
    Verified as django-otp's: django_otp.oath.TOTP with the device's tolerance and drift, a
    code taken once only (last_t), throttled after wrong codes (ThrottlingMixin)."""

    key = EncryptedTextField(
        default=default_totp_key,
        validators=[totp_key_validator],
        help_text="The secret (hex), kept encrypted.",
    )
    step = models.PositiveSmallIntegerField(default=30)
    t0 = models.BigIntegerField(default=0)
    digits = models.PositiveSmallIntegerField(choices=[(6, 6), (8, 8)], default=6)
    tolerance = models.PositiveSmallIntegerField(default=1)
    drift = models.SmallIntegerField(default=0)
    last_t = models.BigIntegerField(default=-1)

    class Meta(Device.Meta):
        verbose_name = "TOTP device"

    @property
    def bin_key(self) -> bytes:
        return unhexlify(self.key.encode())

    def totp(self) -> TOTP:
        return TOTP(self.bin_key, self.step, self.t0, self.digits, self.drift)

    def verify_token(self, token) -> bool:
        """django-otp's TOTPDevice.verify_token: only a code of a later time step than the
        last one taken (no reuse), the drift followed (OTP_TOTP_SYNC)."""
        allowed, _ = self.verify_is_allowed()
        if not allowed:
            return False
        try:
            token = int(token)
        except (TypeError, ValueError):
            verified = False
        else:
            totp = self.totp()
            totp.time = time.time()
            verified = totp.verify(token, self.tolerance, self.last_t + 1)
            if verified:
                self.last_t = totp.t()
                if getattr(settings, "OTP_TOTP_SYNC", True):
                    self.drift = totp.drift
                self.throttle_reset(commit=False)
                self.set_last_used_timestamp(commit=False)
                self.save()
        if not verified:
            self.throttle_increment(commit=True)
        return verified

    def get_throttle_factor(self):
        return getattr(settings, "OTP_TOTP_THROTTLE_FACTOR", 1)

    @property
    def config_url(self) -> str:
        """The otpauth:// address an authenticator app reads (the QR code)."""
        label = str(self.user.get_username())
        params = urlencode(
            {
                "secret": b32encode(self.bin_key),
                "algorithm": "SHA1",
                "digits": self.digits,
                "period": self.step,
            }
        )
        issuer = (getattr(settings, "OTP_TOTP_ISSUER", "") or "").replace(":", "")
        if issuer:
            label = f"{issuer}:{label}"
            params += f"&issuer={quote(issuer)}"
        return f"otpauth://totp/{quote(label)}?{params}"
