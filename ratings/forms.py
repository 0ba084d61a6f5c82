"""The customer's two forms: a reaction (A1, A2, A10) and the optional comment (A1, A3).

They check the shape of what was posted; the rules themselves stay in ratings.answers."""

from django import forms
from django.utils.http import url_has_allowed_host_and_scheme

from ratings.answers import COMMENT_TOO_LONG, MAX_COMMENT_LENGTH, VALUE_MESSAGE


class _NextField(forms.CharField):
    """Where to go after a successful post (the Messenger page): a path on this site only."""

    def __init__(self, **kwargs):
        super().__init__(required=False, max_length=2000, **kwargs)


class _Strings(forms.Field):
    """A list of short strings (the ticked reasons); the template draws the checkboxes."""

    widget = forms.MultipleHiddenInput

    def __init__(self, **kwargs):
        super().__init__(required=False, **kwargs)

    def to_python(self, value) -> list[str]:
        values = [str(item) for item in (value or [])]
        if len(values) > 50 or any(len(item) > 200 for item in values):
            raise forms.ValidationError("Tick reasons from the list.")
        return values


class _CustomerForm(forms.Form):
    next = _NextField()

    def __init__(self, *args, host: str = "", secure: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.host = host
        self.secure = secure

    def clean_next(self) -> str:
        target = self.cleaned_data.get("next") or ""
        allowed = url_has_allowed_host_and_scheme(
            target, allowed_hosts={self.host}, require_https=self.secure
        )
        return target if target and allowed else ""

    @property
    def message(self) -> str:
        """The first error, in words for the customer."""
        for errors in self.errors.values():
            return errors[0]
        return ""


class _CommentField(forms.CharField):
    """The comment as typed: browsers send each line break as CRLF, while the comment box
    counts it (and `maxlength` limits it) as one character; so does the limit here."""

    def to_python(self, value):
        return super().to_python(value).replace("\r\n", "\n")


class RateForm(_CustomerForm):
    value = forms.TypedChoiceField(
        choices=[(value, value) for value in range(1, 6)],
        coerce=int,
        error_messages={"required": VALUE_MESSAGE, "invalid_choice": VALUE_MESSAGE},
    )
    # A10: set by the page's script when it posts the link's reaction by itself on load; a
    # person's press on a button sends no `auto`.
    auto = forms.BooleanField(required=False)


class CommentForm(_CustomerForm):
    comment = _CommentField(
        required=False,
        max_length=MAX_COMMENT_LENGTH,
        widget=forms.Textarea,
        error_messages={"max_length": COMMENT_TOO_LONG},
    )
    # The admin's list is checked by `rating_comment`; here only its shape.
    reasons = _Strings()
