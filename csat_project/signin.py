"""Sign-in: failed attempts limited (K7, django-axes) and an optional TOTP second factor for
staff (K8, django-otp), on both sign-in pages (/accounts/login/ and /admin/login/). The devices
are conversations.TOTPDevice: django-otp's TOTP device with its key encrypted at rest.

K7: axes counts failed sign-ins in the database (AxesDatabaseHandler: every process and
machine sees the same counts; an admin lifts a lock in Admin → Access attempts, or with
`manage.py axes_reset`). SIGNIN_FAILURE_LIMIT failures for one user name, or from one address,
lock it until SIGNIN_COOLOFF_MINUTES after the last of them: the limit-th failure still gets the
form's own error, the next attempt the lock-out page (429), even with the right password.

K8: a staff user may add a TOTP device (an authenticator app) at /accounts/two-factor/; from
then on both sign-in pages ask for its 6-digit code, and a missing or wrong code is a failed
sign-in for K7 as well. OTP_REQUIRED_FOR_SUPERUSERS sends a superuser without a device to that
page and keeps them out of the admin until they have one.
"""

from __future__ import annotations

import math
from base64 import b32encode
from binascii import unhexlify

import qrcode
import qrcode.image.svg
from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth import REDIRECT_FIELD_NAME
from django.contrib.auth.decorators import login_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_login_failed
from django.core import signing
from django.db.models import Max, Sum
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST
from django_otp import DEVICE_ID_SESSION_KEY, user_has_device
from django_otp import login as otp_login
from django_otp.forms import OTPAuthenticationFormMixin
from rest_framework.throttling import BaseThrottle

from conversations.models import TOTPDevice, default_totp_key

# --- K7: the client's address and the lock-out page --------------------------------------------


def client_address(request) -> str | None:
    """The address a failed sign-in counts against: the throttles' own (DRF's get_ident under
    REST_FRAMEWORK's NUM_PROXIES: the proxy's X-Forwarded-For behind BEHIND_TLS_PROXY, else
    the peer, so a client cannot pick its own bucket with a header of its own)."""
    return BaseThrottle().get_ident(request)


def _locked_until(request, credentials):
    """When the lock on this user name or address ends: the cool-off after the last failure of
    the parameter that reached the limit."""
    from axes.handlers.proxy import AxesProxyHandler

    handler = AxesProxyHandler.get_implementation()
    latest = None
    for attempts in handler.get_user_attempts(request, credentials):
        figures = attempts.aggregate(failures=Sum("failures_since_start"), last=Max("attempt_time"))
        if (figures["failures"] or 0) >= settings.AXES_FAILURE_LIMIT and figures["last"]:
            latest = max(latest, figures["last"]) if latest else figures["last"]
    return (latest or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_response(request, original_response=None, credentials=None):
    """K7: axes' AXES_LOCKOUT_CALLABLE. The failure that reaches the limit was counted in this
    very request (axes_failures_since_start is set): it gets the form's own error; an attempt
    refused because the limit was already reached gets the lock-out page, 429."""
    if original_response is not None and request.axes_failures_since_start is not None:
        return original_response
    until = _locked_until(request, credentials or request.axes_credentials)
    minutes = max(1, math.ceil((until - timezone.now()).total_seconds() / 60))
    context = {
        "minutes": minutes,
        "until": until,
        "failure_limit": settings.AXES_FAILURE_LIMIT,
        "cooloff_minutes": int(settings.AXES_COOLOFF_TIME.total_seconds() // 60),
    }
    response = render(request, "registration/locked_out.html", context, status=429)
    response["Retry-After"] = str(minutes * 60)
    return response


# --- K8: the second factor at sign-in ------------------------------------------------------------

CODE_MISSING = (
    "Two-factor sign-in is on for this account: enter the 6-digit code your authenticator "
    "app shows."
)
CODE_WRONG = (
    "That code is not right (or has been used already): enter the code your authenticator "
    "app shows now."
)


def confirmed_device(user):
    """The user's TOTP device once confirmed (one per user), else None."""
    if not user or not user.is_authenticated:
        return None
    return TOTPDevice.objects.devices_for_user(user, confirmed=True).order_by("pk").first()


def _code_field():
    return forms.CharField(
        label="Code",
        required=False,
        max_length=6,
        help_text="Only if you set up two-factor sign-in: the 6 digits of your app.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "numeric",
                "pattern": "[0-9]{6}",
                "size": 6,
            }
        ),
    )


class SecondFactorMixin(OTPAuthenticationFormMixin):
    """The password first (AuthenticationForm.clean: authenticate(), which axes watches), then,
    for a user with a confirmed device, its code through django-otp (verified against that
    device, with its own throttle and no reuse of a code). A missing or wrong code is sent as a
    failed sign-in, so K7 counts it toward the same limit."""

    otp_error_messages = dict(
        OTPAuthenticationFormMixin.otp_error_messages,
        token_required=CODE_MISSING,
        invalid_token=CODE_WRONG,
    )

    def clean(self):
        cleaned = super().clean()
        user = self.get_user()
        device = confirmed_device(user)
        if device is not None:
            cleaned["otp_device"] = device.persistent_id
            try:
                self.clean_otp(user)
            except forms.ValidationError:
                user_login_failed.send(
                    sender=type(self),
                    credentials={"username": cleaned.get("username")},
                    request=self.request,
                )
                self.user_cache = None
                raise
        return cleaned

    def _update_form(self, user):
        """django-otp renders the password back into the page for a second try; not here."""


class SigninForm(SecondFactorMixin, AuthenticationForm):
    """/accounts/login/ (K7, K8)."""

    otp_token = _code_field()


class AdminSigninForm(SecondFactorMixin, AdminAuthenticationForm):
    """/admin/login/ (K7, K8): staff only, as Django's."""

    otp_token = _code_field()


# --- K8: the admin site ----------------------------------------------------------------------


def must_enrol(user) -> bool:
    """OTP_REQUIRED_FOR_SUPERUSERS: a superuser without a confirmed device sets one up first."""
    return bool(
        settings.OTP_REQUIRED_FOR_SUPERUSERS
        and user.is_authenticated
        and user.is_superuser
        and not user_has_device(user)
    )


def second_factor_done(request) -> bool:
    """The session passed the second factor, or the user needs none: no device of their own
    (and not a superuser who must have one)."""
    user = request.user
    if user.is_verified():
        return True
    if settings.OTP_REQUIRED_FOR_SUPERUSERS and user.is_superuser:
        return False
    return not user_has_device(user)


class AdminSite(admin.AdminSite):
    """Django's admin site (admin.site, csat_project.apps.AdminConfig) with the second factor:
    a session of a user with a device is let in only once verified by its code (a session from
    before the device was added signs in again); with OTP_REQUIRED_FOR_SUPERUSERS a superuser
    without a device is sent to set one up. What django-otp's OTPAdminSite does, for the users
    who have one instead of everyone."""

    login_form = AdminSigninForm

    def has_permission(self, request):
        if not super().has_permission(request):
            return False
        # Asked by the view's wrapper and again by each_context: one device query a request.
        if not hasattr(request, "_second_factor_done"):
            request._second_factor_done = second_factor_done(request)
        return request._second_factor_done

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        if must_enrol(request.user):
            enrol = reverse("two_factor")
            return redirect(f"{enrol}?{REDIRECT_FIELD_NAME}={reverse('admin:index')}")
        return super().login(request, extra_context)


# --- K8: the staff user's own device -----------------------------------------------------------

ENROL_SALT = "csat.signin.two-factor-enrol"
ENROL_MAX_AGE = 15 * 60  # seconds to scan the code and type the first code


class CodeForm(forms.Form):
    otp_token = forms.RegexField(
        label="Code from the app",
        regex=r"^\d{6}$",
        error_messages={"invalid": "Enter the 6 digits your authenticator app shows."},
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "size": 6}
        ),
    )


class EnrolForm(CodeForm):
    """The new secret travels signed in the form (a GET writes nothing) and is checked against
    the first code before the device is saved, confirmed."""

    secret = forms.CharField(widget=forms.HiddenInput)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.user = user

    def clean_secret(self):
        try:
            payload = signing.loads(
                self.cleaned_data["secret"], salt=ENROL_SALT, max_age=ENROL_MAX_AGE
            )
        except signing.BadSignature as error:
            raise forms.ValidationError(
                "This page has expired: scan the new code below and try again."
            ) from error
        if payload.get("user") != self.user.pk:
            raise forms.ValidationError("This page was made for another user.")
        return payload["key"]

    def clean(self):
        cleaned = super().clean()
        key, code = cleaned.get("secret"), cleaned.get("otp_token")
        if key and code:
            device = TOTPDevice(user=self.user, key=key, name="Authenticator app", confirmed=True)
            totp = device.totp()
            if not totp.verify(int(code), tolerance=device.tolerance):
                raise forms.ValidationError(CODE_WRONG)
            device.last_t, device.drift = totp.t(), totp.drift  # this code is used up
            self.device = device
        return cleaned


def _signed_secret(user, key):
    return signing.dumps({"user": user.pk, "key": key}, salt=ENROL_SALT)


def _qr_svg(uri: str) -> str:
    image = qrcode.make(uri, image_factory=qrcode.image.svg.SvgPathImage, box_size=16, border=4)
    return image.to_string(encoding="unicode")


def _grouped(secret: str) -> str:
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def _next_url(request, default):
    target = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME)
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default


def _staff_only(request):
    if not request.user.is_staff:
        return render(request, "registration/two_factor.html", {"refused": NOT_STAFF}, status=403)
    return None


NOT_STAFF = "Two-factor sign-in is for staff accounts."


@never_cache
@login_required
def two_factor(request):
    """K8: the user's second factor: set it up (a QR code and the secret, confirmed with a
    first code) or, once on, see it and remove it."""
    refused = _staff_only(request)
    if refused:
        return refused
    user = request.user
    device = confirmed_device(user)
    next_url = _next_url(request, "")
    context = {"device": device, "next": next_url, "required": must_enrol(user)}
    if device is not None:
        return render(request, "registration/two_factor.html", {**context, "form": CodeForm()})
    key, status = default_totp_key(), 200
    if request.method == "POST":
        form = EnrolForm(request.POST, user=user)
        if form.is_valid():
            form.device.save()
            otp_login(request, form.device)  # this session has passed the second factor
            messages.success(request, "Two-factor sign-in is on: signing in asks for a code.")
            return redirect(next_url or reverse("two_factor"))
        key, status = form.cleaned_data.get("secret") or key, 400
        # Shown again with the same secret (the app has it already), the code field empty.
        form.data = form.data.copy()
        form.data.update({"secret": _signed_secret(user, key), "otp_token": ""})
    else:
        form = EnrolForm(user=user, initial={"secret": _signed_secret(user, key)})
    uri = TOTPDevice(user=user, key=key).config_url
    secret = b32encode(unhexlify(key)).decode()
    context.update(form=form, qr_svg=_qr_svg(uri), secret=_grouped(secret))
    return render(request, "registration/two_factor.html", context, status=status)


@never_cache
@login_required
@require_POST
def two_factor_remove(request):
    """K8: a staff user removes their device, with a current code (a session left open
    elsewhere cannot turn the second factor off). A lost phone: an admin deletes the device in
    Admin → TOTP devices."""
    refused = _staff_only(request)
    if refused:
        return refused
    device = confirmed_device(request.user)
    if device is None:
        return redirect("two_factor")
    form = CodeForm(request.POST)
    if form.is_valid() and device.verify_token(form.cleaned_data["otp_token"]):
        device.delete()
        request.session.pop(DEVICE_ID_SESSION_KEY, None)
        messages.success(request, "Two-factor sign-in is off: signing in asks for no code.")
        return redirect("two_factor")
    if form.is_valid():
        form.add_error("otp_token", CODE_WRONG)
    context = {"device": device, "form": form, "next": "", "required": False}
    return render(request, "registration/two_factor.html", context, status=400)
