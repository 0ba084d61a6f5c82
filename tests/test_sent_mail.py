"""The development mail box (issue 13): in development every message sent is printed on the
console and kept in the admin's *Sent mail*, readable with its links clickable and its HTML
sanitised, in a frame that runs nothing; for the Admins only."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from io import StringIO

import pytest
from django.contrib.auth.models import Group
from django.core.mail import EmailMultiAlternatives, get_connection
from django.test import override_settings

from mail import devbox
from mail.models import SentMail
from ratings.models import RatingRequest
from ratings.services import rating_request_send
from ratings.tokens import rating_token_read
from tests.decisions.support import _lost_close, eligible
from tests.factories import TeammateFactory

pytestmark = pytest.mark.django_db

DEVBOX = "mail.devbox.DevboxBackend"
HOSTILE_HTML = (
    '<p onclick="steal()">Hello <b>there</b></p>'
    "<script>alert('html')</script>"
    '<a href="javascript:alert(2)">bad link</a>'
    '<a href="https://example.com/fine" target="_self">fine link</a>'
    '<iframe src="https://evil.example/"></iframe>'
    '<img src="https://example.com/pixel.png" onerror="steal()">'
    "<style>body { display: none }</style>"
)
HOSTILE_TEXT = "<script>alert('text')</script> read https://example.com/fine?a=1&b=2 now"


def hostile_message(**kwargs) -> EmailMultiAlternatives:
    message = EmailMultiAlternatives(
        subject=kwargs.pop("subject", "<script>alert('subject')</script>"),
        body=HOSTILE_TEXT,
        from_email="Support <support@example.com>",
        to=["cora@example.com"],
        bcc=["audit@example.com"],
        headers={"Message-ID": "<hostile-1@example.com>"},
        **kwargs,
    )
    message.attach_alternative(HOSTILE_HTML, "text/html")
    return message


class Frames(HTMLParser):
    """The iframes of a page: their attributes, `srcdoc` unescaped as a browser reads it."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.frames: list[dict[str, str]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "iframe":
            self.frames.append(dict(attrs))


def frames(html: str) -> list[dict[str, str]]:
    parser = Frames()
    parser.feed(html)
    return parser.frames


@pytest.fixture
def superuser(db):
    person = TeammateFactory(name="Ada Admin", email="ada@example.com")
    person.user.is_superuser = True
    person.user.save(update_fields=["is_superuser"])
    return person.user


@pytest.fixture
def admin_client(client, superuser):
    client.force_login(superuser)
    return client


# --- the backend ------------------------------------------------------------------------------


def test_the_backend_prints_each_message_and_keeps_it():
    stream = StringIO()
    message = hostile_message(subject="Your invoice")
    message.attach("notes.txt", "some notes", "text/plain")

    sent = get_connection(DEVBOX, stream=stream).send_messages([message])

    assert sent == 1
    printed = stream.getvalue()
    assert "Subject: Your invoice" in printed  # the console backend's output, as before
    assert "To: cora@example.com" in printed
    kept = SentMail.objects.get()
    assert kept.subject == "Your invoice"
    assert kept.from_email == "Support <support@example.com>"
    assert kept.to == "cora@example.com, audit@example.com"  # Bcc too: it was sent to them
    assert kept.text.strip() == HOSTILE_TEXT
    assert kept.html.strip() == HOSTILE_HTML
    assert "Message-ID: <hostile-1@example.com>" in kept.headers.splitlines()
    assert kept.attachments == "notes.txt (text/plain)"


def test_the_backend_keeps_the_last_messages_only(monkeypatch):
    monkeypatch.setattr(devbox, "KEEP", 3)
    connection = get_connection(DEVBOX, stream=StringIO())

    for number in range(5):
        connection.send_messages([hostile_message(subject=f"Message {number}")])

    assert list(SentMail.objects.values_list("subject", flat=True)) == [
        "Message 4",
        "Message 3",
        "Message 2",
    ]


def test_send_mail_through_the_settings_goes_to_the_box(capsys):
    with override_settings(EMAIL_BACKEND=DEVBOX):
        hostile_message(subject="Through the settings").send()

    assert "Subject: Through the settings" in capsys.readouterr().out
    assert SentMail.objects.get().subject == "Through the settings"


# --- the admin --------------------------------------------------------------------------------


@pytest.fixture
def survey(teammate):
    """A real survey, emailed by the rating task through the development mail box."""
    conversation = eligible(teammate=teammate, channel="email", subject="Export broken")
    _lost_close(conversation, teammate)
    with override_settings(EMAIL_BACKEND=DEVBOX):
        rating_request_send(conversation_id=conversation.pk)
    request = RatingRequest.objects.get(conversation=conversation)
    return SentMail.objects.get(), request


def test_the_list_shows_the_survey_newest_first(admin_client, survey):
    kept, _ = survey
    get_connection(DEVBOX, stream=StringIO()).send_messages([hostile_message(subject="Later")])

    response = admin_client.get("/admin/mail/sentmail/")

    assert response.status_code == 200
    page = response.content.decode()
    assert "Re: Export broken" in page
    assert kept.to in page
    assert page.index("Later") < page.index("Re: Export broken")


def test_the_survey_page_shows_its_reaction_links_clickable(admin_client, survey):
    kept, request = survey
    links = re.findall(r'href="(http://testserver/rate/[^"]+)"', kept.html)
    assert len(links) == 5
    # The five reactions of this request.
    read = [rating_token_read(link.removeprefix("http://testserver/rate/")[:-1]) for link in links]
    assert sorted(link.value for link in read) == [1, 2, 3, 4, 5]
    assert {link.request_id for link in read} == {request.pk}

    response = admin_client.get(f"/admin/mail/sentmail/{kept.pk}/change/")

    assert response.status_code == 200
    page = response.content.decode()
    (frame,) = frames(page)
    # The HTML part, in a frame that runs nothing: no scripts, an origin of its own; a link
    # opens a new tab, outside the sandbox.
    assert frame["sandbox"] == "allow-popups allow-popups-to-escape-sandbox"
    document = frame["srcdoc"]
    assert "<title>" not in document  # the email's head is not the frame's
    for link in links:
        assert re.search(rf'<a href="{re.escape(link)}"[^>]* target="_blank"', document), link
        # The text part: the same link, clickable.
        assert f'<a href="{link}" target="_blank" rel="nofollow noopener noreferrer">' in page


def test_hostile_html_and_text_are_sanitised_and_escaped(admin_client):
    get_connection(DEVBOX, stream=StringIO()).send_messages([hostile_message()])
    kept = SentMail.objects.get()

    response = admin_client.get(f"/admin/mail/sentmail/{kept.pk}/change/")

    page = response.content.decode()
    (frame,) = frames(page)
    document = frame["srcdoc"]
    assert "allow-scripts" not in frame["sandbox"]
    assert "allow-same-origin" not in frame["sandbox"]
    for gone in ("<script", "alert(", "javascript:", "onclick", "onerror", "<iframe", "<style"):
        assert gone not in document, gone
    assert "<p>Hello <b>there</b></p>" in document
    assert '<a href="https://example.com/fine" target="_blank" rel="noopener noreferrer">' in (
        document
    )
    assert "Content-Security-Policy" in document
    # Neither the text part nor the subject runs anything: they are escaped.
    assert "<script>alert(" not in page
    assert "&lt;script&gt;alert('text')&lt;/script&gt; read" in page
    assert "&lt;script&gt;alert(&#x27;subject&#x27;)&lt;/script&gt;" in page
    assert '<a href="https://example.com/fine?a=1&amp;b=2" target="_blank"' in page


def test_the_list_says_when_mail_is_not_kept(admin_client):
    """The test settings send to locmem: the box is not in use, and the list says so."""
    response = admin_client.get("/admin/mail/sentmail/")

    assert "Mail is kept here in development only" in response.content.decode()


# --- who may read it ----------------------------------------------------------------------


def test_the_admins_may_read_the_box_teammates_may_not(client, teammate):
    get_connection(DEVBOX, stream=StringIO()).send_messages([hostile_message()])
    kept = SentMail.objects.get()
    admin_member = TeammateFactory(name="Abe Admins", email="abe@example.com")
    admin_member.user.groups.add(Group.objects.get(name="Admins"))

    client.force_login(teammate.user)
    assert client.get("/admin/mail/sentmail/").status_code == 403
    assert client.get(f"/admin/mail/sentmail/{kept.pk}/change/").status_code == 403

    client.force_login(admin_member.user)
    assert client.get("/admin/mail/sentmail/").status_code == 200
    assert client.get(f"/admin/mail/sentmail/{kept.pk}/change/").status_code == 200
    # Read only: nobody adds, changes or deletes what was sent.
    assert client.get("/admin/mail/sentmail/add/").status_code == 403
    assert client.get(f"/admin/mail/sentmail/{kept.pk}/delete/").status_code == 403
