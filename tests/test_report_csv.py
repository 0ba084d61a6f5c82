"""R5: the teammates table and the comments as CSV. The same figures and rows as the pages
under the same filters, streamed (StreamingHttpResponse, comments read in chunks), UTF-8 with
a byte order mark, a filename with the period, and cells a spreadsheet would compute quoted."""

import re
from datetime import timedelta

import pytest
from django.http import StreamingHttpResponse
from django.urls import reverse

from ratings.services import rating_follow_up
from reports.exports import safe_cell
from tests.factories import ContactFactory, TeammateFactory
from tests.report_helpers import (
    DAY,
    MARCH,
    csv_rows,
    rate,
    rate_many,
    rating_ids,
    requested,
    table_rows,
)

TEAMMATES = reverse("reports:teammates")
COMMENTS = reverse("reports:comments")
TEAMMATES_CSV = reverse("reports:teammates_csv")
COMMENTS_CSV = reverse("reports:comments_csv")


@pytest.fixture
def team(capture):
    ann, ben = TeammateFactory(name="Ann Ángel"), TeammateFactory(name="Ben")
    rate_many(capture, ann, (5, 5, 4, 4, 3, 3, 2, 2, 1, 1))
    rate_many(capture, ben, (5, 1, 2), at=DAY + timedelta(hours=1), comment="ok 👍")
    requested(capture, ben, at=DAY)
    return ann, ben


# --- teammates ----------------------------------------------------------------------------------


def test_R5_teammates_csv_equals_the_page(client_, team):
    for query in (MARCH, f"{MARCH}&sort=-csat", f"{MARCH}&teammate={team[1].pk}"):
        page = table_rows(client_.get(f"{TEAMMATES}?{query}").content.decode())
        header, *rows = csv_rows(client_.get(f"{TEAMMATES_CSV}?{query}"))

        assert header[:6] == [
            "Teammate",
            "Requests",
            "Ratings",
            "CSAT %",
            "CSAT 95 % low",
            "CSAT 95 % high",
        ]
        assert header[6:11] == ["Amazing", "Great", "OK", "Bad", "Terrible"]
        assert header[11:] == ["Happiness target %", "Ratings needed", "Against target"]
        assert len(rows) == len(page)
        for cells, shown in zip(rows, page, strict=True):
            csat = shown[3].removesuffix(" %")
            assert cells[:3] == shown[:3]
            assert cells[3] == ("" if csat == "—" else csat.lower())
            assert f"{cells[4]}–{cells[5]} %" == shown[4]  # S4
            assert cells[6:11] == shown[5:10]
            assert cells[13] == shown[10].lower().replace("’", "'")


def test_R5_teammates_csv_figures(client_, team):
    _, *rows = csv_rows(client_.get(f"{TEAMMATES_CSV}?{MARCH}"))
    # S4: Ann's 4 of 10 is 16.8–68.7 %, wholly below 80 %; Ben's 3 ratings are too few
    # (S4a), though their range is given.
    few = "too few ratings"
    assert rows == [
        ["Ann Ángel", "10", "10", "40", "16.8", "68.7", "2", "2", "2", "2", "2", "80", "10"]
        + ["below"],
        ["Ben", "4", "3", few, "6.1", "79.2", "1", "0", "0", "1", "1", "80", "10", few],
    ]


def test_R5_a_teammate_with_requests_but_no_ratings_has_an_empty_csat_cell(client_, capture):
    requested(capture, TeammateFactory(name="Quiet"), at=DAY)
    _, row = csv_rows(client_.get(f"{TEAMMATES_CSV}?{MARCH}"))
    assert row[:6] == ["Quiet", "1", "0", "", "", ""]
    assert row[-1] == ""


def test_R5_teammates_csv_is_streamed_with_a_bom_and_the_period_in_its_name(client_, team):
    response = client_.get(f"{TEAMMATES_CSV}?{MARCH}")
    assert isinstance(response, StreamingHttpResponse)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == (
        'attachment; filename="teammates_2025-03-01_to_2025-03-31.csv"'
    )
    body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbfTeammate,")
    assert "Ann Ángel".encode() in body


# --- comments -----------------------------------------------------------------------------------


def _conversations_on_page(client, query):
    html = client.get(f"{COMMENTS}?{query}").content.decode()
    ids = rating_ids(html)
    conversations = re.findall(r'href="/admin/conversations/conversation/(\d+)/change/"', html)
    assert len(conversations) == len(ids)
    return [int(pk) for pk in conversations]


@pytest.mark.parametrize(
    "filters",
    [
        "",
        "reaction=1&reaction=2",
        "reaction=5",
        "comment=1",
        "followed=yes",
        "followed=no",
        "reason=Slow+to+answer",
        "from=2025-03-10&to=2025-03-10",
    ],
)
def test_R5_comments_csv_lists_the_pages_ratings_in_the_same_order(
    client_, capture, manager, team, filters
):
    ann, _ = team
    low = rate(capture, ann, 1, reasons=["Slow to answer"], at=DAY - timedelta(days=3))
    rating_follow_up(rating=low, by=manager.user)
    query = f"{MARCH}&{filters}"

    header, *rows = csv_rows(client_.get(f"{COMMENTS_CSV}?{query}"))
    conversation = header.index("Conversation")

    assert [int(row[conversation]) for row in rows] == _conversations_on_page(client_, query)


def test_R5_comments_csv_columns(client_, capture, manager):
    teammate = TeammateFactory(name="Tess Mate")
    contact = ContactFactory(name="Zoë Müller", email="zoe@example.com")
    rating = rate(
        capture,
        teammate,
        2,
        contact=contact,
        comment='Slow,\n"very" slow 🐢',
        reasons=["Slow to answer", "Had to repeat myself"],
    )
    rating_follow_up(rating=rating, by=manager.user)
    response = client_.get(f"{COMMENTS_CSV}?{MARCH}")
    header, row = csv_rows(response)
    record = dict(zip(header, row, strict=True))

    assert response["Content-Disposition"] == (
        'attachment; filename="comments_2025-03-01_to_2025-03-31.csv"'
    )
    assert record["Rated at"] == "2025-03-10 12:00:00"
    assert (record["Value"], record["Reaction"]) == ("2", "Bad")
    assert record["Comment"] == 'Slow,\n"very" slow 🐢'
    assert record["Low-rating reasons"] == "Slow to answer; Had to repeat myself"
    assert record["Teammate"] == "Tess Mate"
    assert (record["Contact"], record["Contact email"]) == ("Zoë Müller", "zoe@example.com")
    assert record["Conversation"] == str(rating.conversation_id)
    assert record["Conversation link"] == (
        f"http://testserver/admin/conversations/conversation/{rating.conversation_id}/change/"
    )
    assert record["Followed up by"] == "Mona Manager"
    assert record["Followed up at"]


def test_R5_comments_csv_is_streamed_in_chunks(client_, team, django_assert_num_queries):
    response = client_.get(f"{COMMENTS_CSV}?{MARCH}")
    assert isinstance(response, StreamingHttpResponse)
    assert not hasattr(response, "content")
    # The rows are read while the response is consumed, in one query for a small export.
    with django_assert_num_queries(1):
        body = b"".join(response.streaming_content)
    assert body.startswith(b"\xef\xbb\xbf")
    assert body.count(b"\r\n") == 14  # header + 13 ratings


def test_R5_comments_csv_uses_the_chunked_iterator(client_, team, monkeypatch):
    from django.db.models.query import QuerySet

    chunks = []
    original = QuerySet.iterator

    def spy(self, chunk_size=None):
        chunks.append(chunk_size)
        return original(self, chunk_size=chunk_size)

    monkeypatch.setattr(QuerySet, "iterator", spy)
    b"".join(client_.get(f"{COMMENTS_CSV}?{MARCH}").streaming_content)
    assert chunks == [2000]


# --- CSV injection ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, cell",
    [
        ("=1+2", "'=1+2"),
        ("+SUM(A1)", "'+SUM(A1)"),
        ("-2+3", "'-2+3"),
        ("@cmd", "'@cmd"),
        ("\t=x", "'\t=x"),
        ("plain = text", "plain = text"),
        ("", ""),
        (None, ""),
        (42, "42"),
    ],
)
def test_R5_safe_cell(value, cell):
    assert safe_cell(value) == cell


def test_R5_formulas_in_comments_and_names_are_quoted(client_, capture):
    teammate = TeammateFactory(name="=Evil Teammate")
    contact = ContactFactory(name="@Mallory", email="mallory@example.com")
    rate(capture, teammate, 1, contact=contact, comment='=HYPERLINK("http://x","y")')
    _, row = csv_rows(client_.get(f"{COMMENTS_CSV}?{MARCH}"))
    assert '\'=HYPERLINK("http://x","y")' in row
    assert "'=Evil Teammate" in row
    assert "'@Mallory" in row
    _, row = csv_rows(client_.get(f"{TEAMMATES_CSV}?{MARCH}"))
    assert row[0] == "'=Evil Teammate"


# --- filters ------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [TEAMMATES_CSV, COMMENTS_CSV])
def test_R5_an_invalid_filter_refuses_the_export_instead_of_guessing(client_, url):
    response = client_.get(f"{url}?days=12")
    assert response.status_code == 400
    assert "Choose the last 7, 30 or 90 days" in response.content.decode()


def test_R5_pages_link_to_their_csv_with_the_same_filters(client_, team):
    ann, _ = team
    query = f"{MARCH}&teammate={ann.pk}&reaction=1&reaction=2&comment=1"
    html = client_.get(f"{COMMENTS}?{query}").content.decode()
    expected = f"{COMMENTS_CSV}?{query}".replace("&", "&amp;")
    assert f'href="{expected}"' in html
    html = client_.get(f"{TEAMMATES}?{MARCH}&sort=-csat").content.decode()
    expected = f"{TEAMMATES_CSV}?{MARCH}&sort=-csat".replace("&", "&amp;")
    assert f'href="{expected}"' in html
