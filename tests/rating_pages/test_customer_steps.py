"""The rating page's steps read plainly (issue 13, customer pages): after the customer's own
post the email link's reaction asks for nothing more (no "Not changed to …" after a comment
that asked no change); a link for another reaction asks one question with one button (A2); the
comment box says how much room is left, its limit from `ratings.answers.MAX_COMMENT_LENGTH`."""

import re
from datetime import timedelta

import time_machine

from ratings import answers
from ratings.models import Rating
from ratings.rules import RULE_WORDS
from tests.rating_pages.support import CLOSED_AT, _comment_url, _text, _url, _written

AT = CLOSED_AT + timedelta(hours=1)


def _post(client, url, data, at=AT):
    with time_machine.travel(at, tick=False):
        return client.post(url, data)


def _get(client, url, at=AT):
    with time_machine.travel(at, tick=False):
        return _text(client.get(url))


def _notices(html: str) -> list[str]:
    return re.findall(r'<p class="notice warn"[^>]*>(.*?)</p>', html, re.S)


# --- after a comment: no warning about a change nobody asked for --------------------------------


def test_A3_link_for_great_rated_great_then_a_comment_no_warning(client, rating_request):
    great = _url(rating_request, 4)
    _post(client, great, {"value": 4})
    response = _post(client, f"{great}comment/", {"comment": "Quick, thanks"})
    assert response["Location"] == f"{great}?done=commented"
    html = _get(client, response["Location"])
    assert "Thank you for your feedback" in html
    assert "Thanks — you rated Great" in html
    assert "Not changed" not in html
    assert _notices(html) == []


def test_A3_link_for_great_changed_to_amazing_on_the_page_then_a_comment_no_warning(
    client, rating_request
):
    """The bug: the page came from the link for Great, the customer pressed Amazing, then
    commented; the thank-you page warned "Not changed to Great", a change nobody asked for."""
    great = _url(rating_request, 4)
    _post(client, great, {"value": 4})
    _post(client, great, {"value": 5})  # pressed Amazing on the page
    response = _post(client, f"{great}comment/", {"comment": "Even better on reflection"})
    html = _get(client, response["Location"])
    assert Rating.objects.get().value == 5
    assert "Thanks — you rated Amazing" in html
    assert "Not changed" not in html
    assert _notices(html) == []
    assert "Your rating is final now that you have left a comment." in html


def test_A2_after_a_change_on_the_page_the_link_asks_nothing_more(client, rating_request):
    great = _url(rating_request, 4)
    _post(client, great, {"value": 4})
    response = _post(client, great, {"value": 5})
    assert response["Location"] == f"{great}?done=rated"
    html = _get(client, response["Location"])
    assert "Thanks — you rated Amazing" in html
    assert "Change your rating to Great?" not in html
    assert "Tell us more" in html  # the comment is offered
    assert "Changed your mind?" in html


def test_A3_a_fresh_link_for_another_reaction_after_a_comment_still_says_why(
    client, rating_request
):
    """The warning stays where the customer did ask for a change: the email's other link."""
    _post(client, _url(rating_request, 4), {"value": 4})
    _post(client, _comment_url(rating_request), {"comment": "Fine"})
    html = _get(client, _url(rating_request, 1))
    assert _notices(html) == [f"Not changed to Terrible: {RULE_WORDS['A3']}"]


# --- A2: the link for another reaction: one sentence, one button -------------------------------


def test_A2_the_link_for_another_reaction_asks_one_question_with_one_button(client, rating_request):
    _post(client, _url(rating_request, 5), {"value": 5})
    before = _written()
    url = _url(rating_request, 4)
    html = _get(client, url)
    assert _written() == before  # a GET never writes
    assert "Your rating: Amazing" in html
    step = html.split('class="section change change-link"')[1].split("</details>")[0]
    # One sentence, one button: the link's reaction, posted to the page's own address.
    assert re.findall(r"<h3>(.*?)</h3>", step) == ["Change your rating to Great?"]
    buttons = re.findall(r'<button type="submit" name="value" value="(\d)" class="primary', step)
    assert buttons == ["4"]
    assert re.search(r'class="primary change-to">.*?Change to Great</button>', step, re.S)
    assert f'<form method="post" action="{url}" class="rate-form">' in step
    # The other reactions are there, folded away behind "Pick another reaction".
    folded = step.split("<details")[1]
    assert "<summary>Pick another reaction</summary>" in folded
    assert re.findall(r'name="value" value="(\d)" class="reaction"', folded) == [
        "1",
        "2",
        "3",
        "4",
        "5",
    ]
    assert re.search(r'value="5" class="reaction"\s+aria-pressed="true"', folded)
    # Nothing else asks for attention in this step: no comment form, no second question.
    assert "Tell us more" not in html
    assert "Changed your mind?" not in html
    assert "data-autosubmit" not in html  # a person's rating: only a press changes it


def test_A2_pressing_the_one_button_changes_the_rating(client, rating_request):
    _post(client, _url(rating_request, 5), {"value": 5})
    url = _url(rating_request, 4)
    response = _post(client, url, {"value": 4})
    assert response.status_code == 303
    assert Rating.objects.get().value == 4
    html = _get(client, response["Location"])
    assert "Thanks — you rated Great" in html
    assert "Tell us more" in html


# --- the comment box: the room left ----------------------------------------------------------


def _comment_box(client, rating_request) -> str:
    url = _url(rating_request, 4)
    _post(client, url, {"value": 4})
    return _get(client, f"{url}?done=rated")


def test_the_comment_box_says_its_limit_and_the_script_counts_down(client, rating_request):
    html = _comment_box(client, rating_request)
    box = re.search(r"<textarea [^>]*>", html).group(0)
    assert f'maxlength="{answers.MAX_COMMENT_LENGTH}"' in box
    assert 'data-room="room-page"' in box and 'aria-describedby="room-page"' in box
    # Without JavaScript: a static hint; static/js/rate.js turns it into "… characters left".
    assert '<p class="room" id="room-page">Up to 5,000 characters.</p>' in html
    assert '<script src="/static/js/rate.js"></script>' in html
    assert "<script>" not in html  # no inline script


def test_the_comment_limit_has_one_source(client, rating_request, monkeypatch):
    monkeypatch.setattr(answers, "MAX_COMMENT_LENGTH", 1200)
    html = _comment_box(client, rating_request)
    assert 'maxlength="1200"' in html
    assert "Up to 1,200 characters." in html


def test_a_line_break_counts_as_one_character_as_the_box_counts_it(client, rating_request):
    """Browsers send a line break as CRLF while the box (and its maxlength) counts one; a
    comment that fills the box exactly is taken, with plain line breaks."""
    _post(client, _url(rating_request, 4), {"value": 4})
    lines = "x" * 99 + "\n"
    typed = (lines * (answers.MAX_COMMENT_LENGTH // len(lines)))[:-1] + "y"
    assert len(typed) == answers.MAX_COMMENT_LENGTH
    response = _post(client, _comment_url(rating_request), {"comment": typed.replace("\n", "\r\n")})
    assert response.status_code == 303
    assert Rating.objects.get().comment == typed
