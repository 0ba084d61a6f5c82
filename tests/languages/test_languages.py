"""Languages (L1–L4): a contact's language; the survey email, the rating pages and the
Messenger card in it; the admin's survey texts per language; a missing translation falls back
to English, never a msgid key or an empty string."""

import gettext
import json
import re
from datetime import timedelta
from html import unescape
from pathlib import Path

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import trans_real

from conversations.languages import contact_language, language_clean
from conversations.models import Channel, Contact
from ratings.answers import rating_comment, rating_submit
from ratings.configure import rating_settings_update
from ratings.models import Rating, RatingSettings
from ratings.tokens import messenger_token, rating_token
from tests.factories import ContactFactory
from tests.rating_pages.support import CLOSED_AT, SUBJECT, _requested

pytestmark = pytest.mark.django_db

# Words each language's survey email and rating page must show (from its catalogue; French
# puts a no-break space before ? : ; ! and inside « », so that they never start a line).
WORDS = {
    "en": {
        "greeting": "Hi Anna,",
        "closed": "just closed your conversation",
        "question": "How would you rate the help you got from our team?",
        "reaction": "Amazing",
        "one_click": "One click records your answer",
        "page_title": "Rate your conversation",
        "private": "This page is private to you",
    },
    "fr": {
        "greeting": "Bonjour Anna,",
        "closed": "vient de clôturer votre conversation",
        "question": "Comment évaluez-vous l’aide apportée par notre équipe\xa0?",
        "reaction": "Génial",
        "one_click": "Un clic enregistre votre réponse",
        "page_title": "Évaluez votre conversation",
        "private": "Cette page vous est réservée",
    },
    "de": {
        "greeting": "Hallo Anna,",
        "closed": "hat gerade Ihre Unterhaltung",
        "question": "Wie bewerten Sie die Hilfe unseres Teams?",
        "reaction": "Großartig",
        "one_click": "Ein Klick speichert Ihre Antwort",
        "page_title": "Bewerten Sie Ihre Unterhaltung",
        "private": "Diese Seite ist nur für Sie",
    },
    "es": {
        "greeting": "Hola, Anna:",
        "closed": "acaba de cerrar su conversación",
        "question": "¿Cómo valoraría la ayuda que recibió de nuestro equipo?",
        "reaction": "Excelente",
        "one_click": "Un clic registra su respuesta",
        "page_title": "Valore su conversación",
        "private": "Esta página es privada",
    },
    "pt": {
        "greeting": "Olá Anna,",
        "closed": "acabou de encerrar a sua conversa",
        "question": "Como avalia a ajuda que recebeu da nossa equipa?",
        "reaction": "Excelente",
        "one_click": "Um clique regista a sua resposta",
        "page_title": "Avalie a sua conversa",
        "private": "Esta página é privada",
    },
}
LINK = re.compile(r"https?://\S+/rate/([^/\s\"]+)/")


def _surveyed(teammate, language="", **contact):
    contact = ContactFactory(name="Anna", language=language, **contact)
    mail.outbox.clear()
    request = _requested(teammate, contact=contact)
    (message,) = mail.outbox
    return request, message


def _html(message) -> str:
    (html, kind) = message.alternatives[0]
    assert kind == "text/html"
    return html


def _page(client, request, value=None, **headers) -> str:
    token = rating_token(
        request_id=request.pk, conversation_id=request.conversation_id, value=value
    )
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        response = client.get(reverse("ratings:rate", args=[token]), **headers)
    assert response.status_code == 200
    return response.content.decode()


# --- L1: a contact's language ---------------------------------------------------------------


def test_l1_a_contact_has_a_language_blank_for_the_default():
    assert ContactFactory(language="fr").language == "fr"
    blank = ContactFactory()
    assert blank.language == ""
    assert contact_language(blank) == "en"
    with override_settings(LANGUAGE_CODE="de"):
        assert contact_language(blank) == "de"


@pytest.mark.parametrize(
    ("given", "kept"), [("FR", "fr"), ("fr-CA", "fr"), ("pt_BR", "pt"), ("", "")]
)
def test_l1_a_regional_variant_is_its_language(given, kept):
    assert language_clean(given) == kept


@pytest.mark.parametrize("code", ["it", "klingon", "xx-fr", 7])
def test_l1_an_unknown_language_is_refused_in_words(code):
    with pytest.raises(ValidationError) as refused:
        ContactFactory(language=code)
    assert "Unknown language" in refused.value.messages[0]
    assert "en, fr, de, es, pt" in refused.value.messages[0]
    assert not Contact.objects.exists()


@pytest.fixture
def api(api_login, teammate):
    from django.contrib.auth.models import Permission

    teammate.user.user_permissions.add(Permission.objects.get(codename="change_contact"))
    return api_login(teammate.user)


def test_l1_the_api_creates_and_changes_a_contact_language(api):
    response = api.post(
        "/api/v1/contacts/",
        {"role": "user", "email": "ana@example.com", "language": "es"},
        format="json",
    )
    assert response.status_code == 201, response.json()
    assert response.json()["language"] == "es"
    pk = response.json()["id"]
    changed = api.patch(f"/api/v1/contacts/{pk}/", {"language": "de"}, format="json")
    assert changed.status_code == 200, changed.json()
    assert (changed.json()["language"], Contact.objects.get(pk=pk).language) == ("de", "de")
    assert (
        api.patch(f"/api/v1/contacts/{pk}/", {"language": ""}, format="json").json()["language"]
        == ""
    )


def test_l1_the_api_refuses_an_unknown_language(api):
    response = api.post(
        "/api/v1/contacts/",
        {"role": "user", "email": "x@example.com", "language": "it"},
        format="json",
    )
    assert response.status_code == 400
    assert "Unknown language 'it'" in response.json()["message"]
    assert not Contact.objects.exists()
    contact = ContactFactory()
    refused = api.patch(f"/api/v1/contacts/{contact.pk}/", {"language": "zz"}, format="json")
    assert refused.status_code == 400 and "Unknown language" in refused.json()["message"]


def test_l1_the_admin_offers_the_languages(admin_client):
    contact = ContactFactory()
    url = reverse("admin:conversations_contact_change", args=[contact.pk])
    page = admin_client.get(url).content.decode()
    assert '<option value="fr">Français</option>' in page
    response = admin_client.post(
        url, {"role": "user", "name": "A", "email": contact.email, "language": "it"}
    )
    assert response.status_code == 200 and "Select a valid choice" in response.content.decode()
    admin_client.post(url, {"role": "user", "name": "A", "email": contact.email, "language": "pt"})
    contact.refresh_from_db()
    assert contact.language == "pt"


def _session(client, data):
    return client.post(
        reverse("messenger:session"), json.dumps(data), content_type="application/json"
    )


def test_l1_the_messenger_keeps_the_host_pages_language_and_a_leads_browser_language(client):
    from conversations.identity import user_hash

    user = _session(
        client,
        {"user_id": "42", "user_hash": user_hash("42"), "email": "u@example.com", "language": "de"},
    )
    assert user.status_code == 200 and user.json()["language"] == "de"
    assert Contact.objects.get(external_id="42").language == "de"
    lead = _session(client, {"browser_language": "es-MX"})
    assert lead.json()["language"] == "es"
    assert Contact.objects.get(visitor_id=lead.json()["visitor_id"]).language == "es"
    unsupported = _session(client, {"browser_language": "ja-JP"})
    assert Contact.objects.get(visitor_id=unsupported.json()["visitor_id"]).language == ""
    refused = _session(client, {"language": "klingon"})
    assert refused.status_code == 400 and "Unknown language 'klingon'" in refused.json()["message"]


# --- L2: the survey email and the rating page speak the contact's language -------------------


@pytest.mark.parametrize("language", ["en", "fr", "de", "es", "pt"])
def test_l2_the_survey_email_and_the_page_speak_the_contact_language(client, teammate, language):
    words = WORDS[language]
    request, message = _surveyed(teammate, language)
    html, text = _html(message), message.body
    assert message.subject == f"Re: {SUBJECT}"
    assert message.extra_headers["Content-Language"] == language
    for key in ("greeting", "question", "one_click", "reaction"):
        assert words[key] in text, key
        assert words[key] in unescape(html), key
    assert words["closed"] in text and words["closed"] in unescape(html)
    assert f'<html lang="{language}">' in html
    # The links of the email lead to a page in the same language, whatever the browser says.
    (token, *_) = LINK.findall(text)
    page = _page(client, request, value=5, HTTP_ACCEPT_LANGUAGE="de" if language != "de" else "fr")
    assert f'<html lang="{language}">' in page
    for key in ("question", "reaction", "page_title", "private"):
        assert words[key] in unescape(page), key


@pytest.mark.parametrize("language", ["fr", "de", "es", "pt"])
def test_l2_the_subject_of_a_conversation_without_one_is_translated(teammate, language):
    contact = ContactFactory(language=language)
    with translation.override(language):
        expected = translation.gettext("your conversation with us")
    assert expected != "your conversation with us"
    from ratings.surveys import survey_email

    request, _message = _surveyed(teammate, language)
    request.conversation.subject = ""
    request.contact = contact
    assert survey_email(request, RatingSettings.current()).subject == f"Re: {expected}"


def test_l2_a_contact_without_a_language_gets_the_default(client, teammate):
    request, message = _surveyed(teammate, "")
    assert WORDS["en"]["one_click"] in message.body
    with override_settings(LANGUAGE_CODE="fr"):
        _request, french = _surveyed(teammate, "")
        assert WORDS["fr"]["one_click"] in french.body
        assert WORDS["fr"]["page_title"] in unescape(_page(client, _request))


def test_l2_an_unsupported_stored_language_falls_back_to_the_default(client, teammate):
    request, _message = _surveyed(teammate, "fr")
    Contact.objects.filter(pk=request.contact_id).update(language="it")  # an older choice
    page = unescape(_page(client, request))
    assert '<html lang="en">' in page and WORDS["en"]["page_title"] in page


def test_l2_refusals_and_the_comment_form_are_in_the_contact_language(client, teammate):
    request, _message = _surveyed(teammate, "fr")
    token = rating_token(request_id=request.pk, conversation_id=request.conversation_id)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        rating_submit(token=token, value=1)
        page = unescape(client.get(reverse("ratings:rate", args=[token])).content.decode())
        assert "Dites-nous-en plus" in page and "Réponse trop lente" in page
        assert "Jusqu’à 5\xa0000 caractères." in page
        rating_comment(token=token, comment="Trop long", reasons=["Slow to answer"])
        refused = client.post(reverse("ratings:rate", args=[token]), {"value": "4"})
    assert refused.status_code == 409
    text = unescape(refused.content.decode())
    assert (
        "Un commentaire accompagne cette évaluation\xa0: elle ne peut plus être modifiée." in text
    )
    assert "Non enregistré." in text
    # The reason is stored (and reported) in the default language.
    assert Rating.objects.get().reasons == ["Slow to answer"]


def test_l2_an_invalid_link_is_said_in_the_default_language(client):
    response = client.get(reverse("ratings:rate", args=["not-a-token"]))
    assert (
        response.status_code == 404
        and "This rating link is not valid." in response.content.decode()
    )


def test_l2_the_messenger_card_and_frame_speak_the_contact_language(client, teammate):
    contact = ContactFactory(language="de")
    request = _requested(teammate, contact=contact, channel=Channel.MESSENGER)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        page = unescape(
            client.get(
                reverse("messenger:link", args=[messenger_token(contact_id=contact.pk)])
            ).content.decode()
        )
        token = rating_token(request_id=request.pk, conversation_id=request.conversation_id)
        card = client.get(f"/api/v1/messenger/ratings/{token}/").json()
    assert '<html lang="de">' in page
    assert "Ihre Unterhaltungen" in page and "Wie bewerten Sie die Hilfe unseres Teams?" in page
    assert "Großartig" in page and "Geschlossen" in page
    assert card["question"] == "Wie bewerten Sie die Hilfe unseres Teams?"
    assert [r["label"] for r in card["reactions"]][-1] == "Großartig"
    with time_machine.travel(CLOSED_AT + timedelta(minutes=6), tick=False):
        rated = client.post(
            f"/api/v1/messenger/ratings/{token}/reaction/",
            {"value": 1},
            content_type="application/json",
        ).json()
    assert rated["reasons"][0] == "Slow to answer"  # posted and stored in the default language
    assert rated["reason_words"][0] == "Zu langsame Antwort"
    assert rated["rating"] is not None
    frame = client.get(reverse("messenger:frame"), {"host": "", "lang": "es-ES"}).content.decode()
    config = json.loads(
        re.search(r'id="mx-config" type="application/json">(.*?)</script>', frame, re.S).group(1)
    )
    assert config["words"]["start"] == "Iniciar una conversación"
    assert '<html lang="es">' in frame


def test_l2_staff_notes_stay_in_the_default_language(teammate):
    request, _message = _surveyed(teammate, "fr")
    note = request.conversation.parts.filter(event="rating_requested").get()
    assert note.body.startswith("Rating survey emailed to")


# --- L3: the admin's texts per language -----------------------------------------------------


def test_l3_the_admins_texts_per_language_with_the_default_as_fallback(
    client, teammate, admin_user
):
    rating_settings_update(
        by=admin_user,
        survey_question="How did Ann do?",
        low_rating_reasons="Slow\nWrong",
        survey_texts={
            "fr": {
                "survey_question": "Comment s’en est sortie Ann ?",
                "low_rating_reasons": "Lent\nFaux",
            }
        },
    )
    _request, french = _surveyed(teammate, "fr")
    assert "Comment s’en est sortie Ann ?" in french.body
    _request, german = _surveyed(teammate, "de")  # no German texts: the default ones
    assert "How did Ann do?" in german.body
    request, _mail = _surveyed(teammate, "fr")
    token = rating_token(request_id=request.pk, conversation_id=request.conversation_id)
    with time_machine.travel(CLOSED_AT + timedelta(minutes=5), tick=False):
        rating_submit(token=token, value=2)
        page = unescape(client.get(reverse("ratings:rate", args=[token])).content.decode())
        assert 'value="Slow"> Lent' in page and 'value="Wrong"> Faux' in page
        client.post(
            reverse("ratings:rate_comment", args=[token]), {"comment": "", "reasons": ["Wrong"]}
        )
        shown = unescape(client.get(reverse("ratings:rate", args=[token])).content.decode())
    assert Rating.objects.get(request=request).reasons == ["Wrong"]
    assert "<li>Faux</li>" in shown


def test_l3_a_language_gives_as_many_reasons_as_the_default_list(admin_user):
    with pytest.raises(ValidationError) as refused:
        rating_settings_update(
            by=admin_user,
            low_rating_reasons="Slow\nWrong",
            survey_texts={"fr": {"low_rating_reasons": "Lent"}},
        )
    assert "The French reasons are 1 lines and the default list 2" in str(
        refused.value.message_dict
    )
    with pytest.raises(ValidationError) as unknown:
        rating_settings_update(by=admin_user, survey_texts={"it": {"survey_question": "Come?"}})
    assert "Unknown language 'it'" in str(unknown.value.message_dict["survey_texts"])
    with pytest.raises(ValidationError) as default:
        rating_settings_update(by=admin_user, survey_texts={"en": {"survey_question": "How?"}})
    assert "is the default language" in str(default.value.message_dict["survey_texts"])
    assert RatingSettings.load().survey_texts == {}


def test_l3_the_settings_page_edits_the_texts_per_language(admin_client):
    from tests.ratings_admin.test_settings import settings_post, settings_url

    url = settings_url()
    page = admin_client.get(url).content.decode()
    assert 'name="question_fr"' in page and 'name="reasons_pt"' in page
    assert 'name="question_en"' not in page  # the default language's are the texts above
    data = settings_post(question_fr="Votre avis ?", reasons_fr="Lent")
    response = admin_client.post(url, data)
    assert response.status_code == 200
    assert "The French reasons are 1 lines and the default list 2" in response.content.decode()
    data["reasons_fr"] = "Lent\nPas résolu"
    assert admin_client.post(url, data).status_code == 302
    assert RatingSettings.load().survey_texts == {
        "fr": {"survey_question": "Votre avis ?", "low_rating_reasons": "Lent\nPas résolu"}
    }
    assert RatingSettings.load().reasons_in("fr") == {
        "Slow to answer": "Lent",
        "Problem not solved": "Pas résolu",
    }


def test_l3_the_api_settings_take_the_texts_per_language(api_login, api_admin):
    client = api_login(api_admin.user)
    response = client.patch(
        "/api/v1/settings/ratings/",
        {"survey_texts": {"es": {"survey_question": "¿Qué tal?"}}},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert response.json()["survey_texts"] == {"es": {"survey_question": "¿Qué tal?"}}
    assert RatingSettings.load().question_in("es") == "¿Qué tal?"
    assert (
        RatingSettings.load().question_in("pt")
        == "Como avalia a ajuda que recebeu da nossa equipa?"
    )


# --- L4: a missing translation falls back to English, never a key ---------------------------


def test_l4_a_string_missing_from_a_catalogue_shows_the_english_text(client, teammate, monkeypatch):
    request, _message = _surveyed(teammate, "fr")
    french = trans_real.translation("fr")
    missing = "This page is private to you: please don’t share its address."
    assert french.gettext(missing) != missing
    monkeypatch.setattr(
        french, "_catalog", {k: v for k, v in french._catalog.items() if k != missing}
    )
    page = unescape(_page(client, request))
    assert missing in page  # the English words, never the key or nothing
    assert WORDS["fr"]["page_title"] in page  # the rest still in French


def test_l4_a_language_without_a_catalogue_shows_english(client, teammate):
    """A language added to LANGUAGES before its catalogue is written speaks English."""
    with override_settings(LANGUAGES=[("en", "English"), ("fr", "Français"), ("it", "Italiano")]):
        contact = ContactFactory(name="Anna")
        Contact.objects.filter(pk=contact.pk).update(language="it")
        contact.refresh_from_db()
        mail.outbox.clear()
        request = _requested(teammate, contact=contact)
        (message,) = mail.outbox
        assert message.extra_headers["Content-Language"] == "it"
        assert WORDS["en"]["one_click"] in message.body and "Hi Anna," in message.body
        page = unescape(_page(client, request))
        assert '<html lang="it">' in page and WORDS["en"]["page_title"] in page


def _po_entries(path) -> dict:
    """msgid (with its msgctxt, as gettext keys them) → msgstr, read from a .po file. An entry
    left untranslated (an empty msgstr: Django's own catalogue speaks for it, as for the
    admin's sign-in words) is not compiled, so it is not read here either."""
    entries, current, field = {}, {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if current.get("msgid") and current.get("msgstr"):
                key = current["msgid"]
                if "msgctxt" in current:
                    key = f"{current['msgctxt']}\x04{key}"
                entries[key] = current["msgstr"]
            current, field = {}, None
        elif line.startswith("#"):
            continue
        elif line.startswith('"'):
            current[field] += json.loads(line)
        else:
            field, _space, value = line.partition(" ")
            current[field] = json.loads(value)
    return entries


LOCALE = Path(__file__).resolve().parents[2] / "locale"
LANGUAGES = ["fr", "de", "es", "pt"]


@pytest.mark.parametrize("language", LANGUAGES)
def test_l4_every_msgid_is_translated_with_its_placeholders(language):
    """No empty msgstr (it would show the English only by luck) and the same %(name)s and
    {n} placeholders as the English (a lost one would be an error or a key on the page)."""
    entries = _po_entries(LOCALE / language / "LC_MESSAGES" / "django.po")
    assert len(entries) > 90
    placeholder = re.compile(r"%\(\w+\)s|\{\w+\}")
    for msgid, msgstr in entries.items():
        assert msgstr.strip(), msgid
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(msgstr)), msgid


@pytest.mark.parametrize("language", LANGUAGES)
def test_l4_the_committed_mo_files_are_compiled_from_the_po_files(language):
    """`manage.py compilemessages` after every change of a .po: the compiled catalogue the
    app reads holds exactly the .po's translations."""
    folder = LOCALE / language / "LC_MESSAGES"
    with (folder / "django.mo").open("rb") as compiled:
        catalogue = dict(gettext.GNUTranslations(compiled)._catalog)
    catalogue.pop("", None)  # the header
    assert catalogue == _po_entries(folder / "django.po"), (
        f"locale/{language}: run `.venv/bin/python manage.py compilemessages` and commit the .mo"
    )


def test_l4_every_customer_template_loads_its_translations():
    """The customer-facing templates mark their words (a template without `i18n` would show
    English to everyone)."""
    templates = Path(__file__).resolve().parents[2] / "templates"
    for name in [
        "ratings/rate.html",
        "ratings/_rating_panel.html",
        "ratings/_reactions.html",
        "ratings/_change.html",
        "ratings/invalid_link.html",
        "ratings/base_customer.html",
        "ratings/email/survey.html",
        "ratings/email/survey.txt",
        "messenger/frame.html",
        "messenger/_threads.html",
    ]:
        assert "{% load" in (text := (templates / name).read_text()) and "i18n" in text, name


def _surveys_to(address):
    """The survey emails sent to `address` (the teammate's reply is mailed too, M1)."""
    return [
        m
        for m in mail.outbox
        if m.to == [address] and "rating-request" in m.extra_headers.get("Message-ID", "")
    ]


def test_l2_make_run_mails_the_french_demo_customer_a_french_survey(
    client, django_capture_on_commit_callbacks
):
    """`make run` seeds with --french-survey: the close is queued as any live close, and the
    worker's survey (the admin's Sent mail) and its rating page are in French."""
    from io import StringIO

    from django.core.management import call_command

    from demo.languages import FRENCH_EMAIL

    mail.outbox.clear()
    out = StringIO()
    with django_capture_on_commit_callbacks(execute=True):
        call_command(
            "seed_demo", conversations=3, seed=1, french_survey=True, stdout=out, stderr=StringIO()
        )
    assert "the worker sends the survey in French" in out.getvalue()
    (message,) = _surveys_to(FRENCH_EMAIL)
    assert message.subject == "Re: Ma commande n’est pas arrivée"
    assert "Bonjour Camille Dubois," in message.body and WORDS["fr"]["one_click"] in message.body
    (token, *_) = LINK.findall(message.body)
    page = unescape(client.get(reverse("ratings:rate", args=[token])).content.decode())
    assert '<html lang="fr">' in page and WORDS["fr"]["question"] in page
    # Seeding again (--if-empty, as make run does) sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        call_command("seed_demo", if_empty=True, french_survey=True, stdout=StringIO())
    assert len(_surveys_to(FRENCH_EMAIL)) == 1
