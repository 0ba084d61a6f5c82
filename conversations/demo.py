"""Demo data: teammates, contacts, workflows and conversations, all made by the services.

Nothing here writes a conversation or a part itself. Each conversation is a *story*: a list of
steps, each a pause after the previous one and one service call (`conversation_start`,
`conversation_reply`, `conversation_note`, `conversation_bot_message`, `conversation_snooze`,
`conversation_reopen`, `conversation_close`). The steps are planned first, from one
`random.Random(seed)`, so the same seed gives the same conversations; then each story is
placed in the last 90 days and played under `clock.at(moment)`, so that the services stamp
the past moments and apply their rules as they do for live work.

Other apps add their part through `after_close` (see `play` and `FollowUp`): the ratings app
decides on each close and answers surveys at moments merged into the story's timeline. This
module knows nothing of them.

To add a kind of conversation, write a story function (`story_*` below, taking a `Script`) and
give it a line in `ENDINGS`.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import time
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from conversations import clock, services
from conversations.models import (
    Channel,
    Contact,
    Conversation,
    ConversationClose,
    Origin,
    Part,
    State,
    Teammate,
    Workflow,
)

MINUTE = 60
HOUR = 60 * MINUTE
DAY = 24 * HOUR

# Everything happens within this far back (a little under 90 days, so "the last 90 days" still
# holds when a test looks a moment later).
HISTORY = timedelta(days=89)
# The last step of a story is at least this long before now.
END_MARGIN = timedelta(minutes=5)
# Conversations committed together (one transaction; each service call is a savepoint in it).
BATCH = 200

# Pauses before a step, in seconds (drawn log-uniformly between the two).
CUSTOMER_PACE = (3 * MINUTE, 20 * HOUR)
TEAMMATE_PACE = (2 * MINUTE, 8 * HOUR)
NOTE_PACE = (1 * MINUTE, 2 * HOUR)
QUICK_PACE = (20, 5 * MINUTE)
CLOSE_PACE = (1 * MINUTE, 20 * HOUR)
# E4 skips a close more than 7 days after the last reply; a stale close waits longer.
STALE_PACE = (8 * DAY, 14 * DAY)


# --- who --------------------------------------------------------------------------------------

TEAMMATES = [
    # name, username, how often they take a conversation (relative)
    ("Ann Lee", "ann.lee", 5),
    ("Marcus Okafor", "marcus.okafor", 4),
    ("Priya Raman", "priya.raman", 4),
    ("Tomás Herrera", "tomas.herrera", 3),
    ("Sofia Novak", "sofia.novak", 3),
    ("Daniel Kim", "daniel.kim", 2),
    ("Fatima Benali", "fatima.benali", 2),
    ("Jonas Berg", "jonas.berg", 1),
]
TEAMMATE_DOMAIN = "example.com"

FIRST_NAMES = [
    "Olivia", "Liam", "Emma", "Noah", "Amelia", "Oliver", "Sophia", "Elijah", "Isabella",
    "Lucas", "Mia", "Mateo", "Charlotte", "Ethan", "Aisha", "Yusuf", "Chloé", "Léa", "Hugo",
    "Lena", "Finn", "Ingrid", "Lars", "Maja", "Aleksander", "Zofia", "Giulia", "Marco",
    "Sara", "Diego", "Lucía", "Camila", "Rafael", "Ana", "João", "Aiko", "Haruto", "Mei",
    "Wei", "Ji-woo", "Min-jun", "Arjun", "Ananya", "Rohan", "Kwame", "Amara", "Chidi",
    "Nia", "Omar", "Layla", "Hannah", "Samuel", "Grace", "Jack", "Ruby", "Oscar",
]  # fmt: skip
LAST_NAMES = [
    "Smith", "Johnson", "Brown", "Garcia", "Martinez", "Rodriguez", "Müller", "Schmidt",
    "Dubois", "Lefèvre", "Rossi", "Bianchi", "Nowak", "Kowalski", "Andersson", "Johansson",
    "Nielsen", "Hansen", "Silva", "Santos", "Tanaka", "Suzuki", "Chen", "Wang", "Kim", "Park",
    "Patel", "Sharma", "Singh", "Mensah", "Okonkwo", "Adeyemi", "Haddad", "Khalil", "O'Brien",
    "Murphy", "Walsh", "van Dijk", "de Vries", "Jansen", "Popescu", "Horvat", "Novak",
    "Papadopoulos", "Yilmaz", "Cohen", "Levi", "Fischer", "Weber", "Costa",
]  # fmt: skip
CONTACT_DOMAINS = ["example.com", "example.org", "example.net"]
LEAD_SHARE = 0.35
UNNAMED_LEAD_SHARE = 0.4


# --- what they write --------------------------------------------------------------------------
# Templates are filled with the conversation's details ({first}, {agent}, {order}, … see
# `details()`). A plain-text template is sent as paragraphs of HTML on the email channel;
# a template that starts with "<" is HTML already.

TOPICS = ["billing", "login", "bug", "feature", "shipping"]

THREADS = {
    "billing": [
        {
            "subject": "Charged twice this month",
            "question": "Hi, I was charged twice for my {plan} subscription this month ({amount} "
            "each). Can you refund one of them? Both payments show up on my bank statement on "
            "the same day.",
            "clarify": "Sorry about that, {first}! Could you tell me the last four digits of the "
            "card that was charged? Then I can find both payments on our side.",
            "detail": "Sure, it's the Visa ending in {card}.",
            "answer": "Thanks, {first}. I found both charges: the second one was a payment retry "
            "that should never have gone through. I've refunded {amount} to your card just now. "
            "Depending on your bank it takes 5–10 business days to show up. Sorry for the "
            "trouble!",
            "pending": "I can see two payments, but I need our billing team to confirm which one "
            "to refund. I'll get back to you tomorrow at the latest.",
            "followup": "Hi again, it's been a week and the refund still isn't on my statement. "
            "Can you check?",
            "followup_answer": "I checked with our payment provider: the refund left us on the "
            "same day, reference {invoice}. Your bank may need a couple more days. If it's not "
            "there by Friday, give them that reference and they can trace it.",
            "note": "Checked Stripe: two successful charges 40 seconds apart, refunded the second.",
        },
        {
            "subject": "VAT number on our invoices",
            "question": "<p>Hello,</p><p>Our finance team needs the invoices for the last three "
            "months with our <b>VAT number</b> on them. Is there a way to add it &amp; re-send "
            "them?</p><p>Thanks!</p>",
            "clarify": "Of course! Could you send me the VAT number exactly as it should appear "
            "on the invoices, and the company address if it has changed?",
            "detail": "<p>VAT number: <b>SE556677889901</b>. The address hasn't changed.</p>",
            "answer": "<p>Done! I've added the VAT number to your account and re-issued the last "
            "three invoices (<b>{invoice}</b> and the two before it). You'll find them under "
            "<i>Settings → Billing → Invoices</i>, and every future invoice will include it.</p>",
            "pending": "I've asked our finance team to re-issue the invoices, which usually "
            "takes a day. I'll let you know as soon as they're ready.",
            "followup": "One more thing: the invoice from January is still missing the VAT number.",
            "followup_answer": "Good catch! January was issued before the change. I've re-issued "
            "it as well; it's in the same place now.",
            "note": "Re-issuing invoices needs finance approval, asked in #billing.",
        },
        {
            "subject": "Switching to yearly billing",
            "question": "Hey! We're thinking about moving from monthly to yearly billing. If we "
            "switch now, do we lose the days we've already paid for this month, or is it "
            "prorated?",
            "clarify": "Good question! Are you planning to stay on the {plan} plan, or to change "
            "plans at the same time?",
            "detail": "Same plan, just yearly.",
            "answer": "Then it's simple: when you switch, we credit the unused days of this month "
            "against the yearly price, so you never pay twice for the same day. You can switch "
            "any time under Settings → Billing → Billing period. Yearly is two months cheaper "
            "than paying monthly.",
            "followup": "We switched yesterday, but the invoice shows the full yearly price "
            "without any credit?",
            "followup_answer": "You're right: the credit went to your account balance instead of "
            "onto the invoice. I've moved it onto the invoice and sent you the corrected one. "
            "Sorry for the confusion!",
            "note": "Proration lands on the balance for accounts created before 2022, known quirk.",
        },
        {
            "subject": "Charged after cancelling my trial",
            "question": "I cancelled my trial last week but I was still charged {amount} today. "
            "I never meant to keep the subscription. Could you refund it please?",
            "clarify": "I'm sorry to hear that, {first}. Did you sign up for the trial with this "
            "email address, or with another one?",
            "detail": "Same address, this one.",
            "answer": "Thanks! I found it: the cancellation was started but not confirmed on the "
            "last screen, so the subscription stayed active. I've cancelled it now and refunded "
            "the full {amount}. You won't be charged again.",
            "followup": "Thank you. Will my data be deleted?",
            "followup_answer": "We keep the workspace for 30 days in case you change your mind, "
            "then it's deleted automatically. If you'd like it gone right away, say so and I'll "
            "delete it today.",
            "note": "The cancel flow's confirm step is easy to miss on mobile, third case this "
            "month.",
        },
    ],
    "login": [
        {
            "subject": "Can't log in after a password reset",
            "question": "Hi, I reset my password this morning but I still can't log in. It just "
            "says 'invalid credentials' every time. I've tried three times now.",
            "clarify": "Sorry about that, {first}! Which browser are you using, and do you sign "
            "in with email and password or with Google?",
            "detail": "{browser} on {os}, with email and password.",
            "answer": "Thanks! Your account was locked for 30 minutes after several failed "
            "attempts, which is why the new password didn't work either. I've unlocked it. "
            "Please try again, and first delete the saved password in {browser} so it doesn't "
            "fill in the old one.",
            "pending": "I've asked our security team to look at your account's sign-in log. "
            "I'll get back to you as soon as I hear from them.",
            "followup": "It worked yesterday but today I'm locked out again?!",
            "followup_answer": "The failed attempts came from the {browser} password manager, "
            "which still has the old password. Once you update it there, the account won't "
            "lock again. I've unlocked it once more.",
            "note": "Lockout after 5 failed attempts; the saved browser password keeps retrying.",
        },
        {
            "subject": "Two-factor codes are rejected",
            "question": "<p>My 2FA codes are always rejected. I got a new phone last week and "
            "moved the authenticator app. <b>Please help</b>, I can't access anything!</p>",
            "clarify": "I can help with that! To be safe, could you confirm the last four digits "
            "of the card on file for your account?",
            "detail": "It ends in {card}.",
            "answer": "Thank you, {first}, that matches. I've turned off two-factor "
            "authentication on your account so you can sign in. Please set it up again right "
            "away under Profile → Security: scan the new QR code with the app on your new "
            "phone and the codes will work.",
            "followup": "I set it up again but the codes are still rejected…",
            "followup_answer": "That usually means the phone's clock is off. Turn on 'set time "
            "automatically' in your phone's settings (the codes depend on the exact time), "
            "then try a fresh code.",
            "note": "Identity checked with the card digits before turning 2FA off.",
        },
        {
            "subject": "SSO login loop for the whole team",
            "question": "Since this morning our whole team gets stuck in a redirect loop when "
            "logging in with Google SSO. We're on the {plan} plan, about 15 people are "
            "affected.",
            "clarify": "Thanks for the report! Did anything change in your Google Workspace "
            "recently, like a new domain or a changed OAuth app?",
            "detail": "Our IT team added a second domain yesterday, that's the only change I "
            "know of.",
            "answer": "That's it: the new domain wasn't on your workspace's allowed list, so "
            "sign-ins bounced back and forth. I've added it, and sign-in works again on our "
            "test account. Ask your team to close the tab and sign in once more.",
            "pending": "I've passed this to our engineers with all the details. I'll update you "
            "as soon as I know more, tomorrow morning at the latest.",
            "followup": "Works for most people now, but two colleagues still get the loop.",
            "followup_answer": "For those two, please clear our site's cookies once: their "
            "browsers still hold the old session. After that it works for everyone.",
            "note": "Workspace has 2 domains, only 1 was allowed in the SSO config.",
        },
        {
            "subject": "Changing my login email",
            "question": "I need to change the email I log in with, I'm leaving my old company. "
            "How do I do that without losing my projects?",
            "clarify": "Happy to help! Which address would you like to use from now on?",
            "detail": "Please use my personal one, same name at example.net.",
            "answer": "Done! You can sign in with your new address now, and all your projects "
            "moved with you. We've sent a confirmation link to the new address: please click it "
            "within 24 hours so the change sticks.",
            "followup": "I never got the confirmation email.",
            "followup_answer": "It was held by a spam filter on our side. I've sent it again just "
            "now and confirmed the change by hand, so you're all set.",
            "note": "Login email changed on request; old address kept as secondary for 30 days.",
        },
    ],
    "bug": [
        {
            "subject": "CSV export is empty",
            "question": "When I export my reports to CSV, the file only has the header row and "
            "no data. It worked fine last week. I'm on version {version}.",
            "clarify": "Thanks for letting us know! Which date range did you pick for the "
            "export, and about how many rows do you see on screen?",
            "detail": "Last 30 days, about 400 rows on screen.",
            "answer": "Thanks, {first}, that helped us reproduce it: in version {version}, "
            "exports with a date filter dropped every row. Our engineers released a fix an hour "
            "ago. Please reload the page and export again; the rows are back.",
            "pending": "I could reproduce it and filed it as {ticket} with our engineers. I'll "
            "follow up as soon as the fix is out.",
            "followup": "The export works now, but the dates are in US format instead of ours.",
            "followup_answer": "Exports use the date format from your profile. Under Profile → "
            "Language & region you can pick yours, and the next export will use it.",
            "note": "Reproduced on staging, filed {ticket}. Only date-filtered exports.",
        },
        {
            "subject": "App crashes when uploading photos",
            "question": "The mobile app closes itself every time I try to upload a photo from my "
            "gallery. I've restarted the phone and reinstalled the app, same thing. I'm on "
            "{os}.",
            "clarify": "I'm sorry about that! Roughly how big are the photos, and does it also "
            "happen with a photo you take in the app itself?",
            "detail": "Photos from the camera in the app work. From the gallery it crashes, "
            "they're big ones, about 12 MB.",
            "answer": "That matches a bug we found with large gallery photos on {os}. The fix is "
            "in today's app update ({version}): once you update from the store, gallery uploads "
            "work again. Until then, the in-app camera is a good workaround.",
            "followup": "Updated, and it still crashes with one particular photo.",
            "followup_answer": "Could you email us that one photo? Our engineers will look at "
            "what's special about it. Sorry it's still not perfect!",
            "note": "Crash log points at resizing HEIC images over 10 MB, fixed in {version}.",
        },
        {
            "subject": "Dashboard and report don't match",
            "question": "<p>The dashboard says <b>1,204</b> orders for last month, but the "
            "monthly report says <b>1,187</b>. Which one is right?</p>",
            "clarify": "Good eye! Are both set to the same time zone? The dashboard uses your "
            "browser's time zone, the report uses the workspace's.",
            "detail": "The dashboard is on my laptop's time zone, the report is on UTC I think.",
            "answer": "That's the difference: 17 orders came in between midnight in your time "
            "zone and midnight UTC, so they land in different months. Both numbers are right "
            "for their time zone. If you set the workspace time zone to yours under Settings → "
            "General, they'll match.",
            "followup": "Changed it, and this month matches now, but last month is still off.",
            "followup_answer": "Past reports keep the time zone they were made with. I've asked "
            "engineering to rebuild last month's report with your new time zone; it will be "
            "updated overnight.",
            "note": "Not a bug: dashboard vs report time zones. The docs could say so.",
        },
        {
            "subject": "Every notification arrives twice",
            "question": "Every notification email arrives twice since yesterday. Not a big deal, "
            "but my inbox is full of duplicates 😅",
            "clarify": "Thanks for flagging it! Do you have an integration that forwards "
            "notifications, like a Zapier zap or a mail rule?",
            "detail": "Hmm, we do have a zap that forwards notifications, maybe that's it?",
            "answer": "Yes, that's the cause: the zap sends each notification back to your own "
            "address. If you turn the zap off or change its recipient, you'll get every "
            "notification once.",
            "followup": "Turned off the zap, but now I get nothing at all?",
            "followup_answer": "Your notification settings had been switched to 'integrations "
            "only' along with the zap. I've set them back to email; you'll get them again from "
            "now on.",
            "note": "Duplicate mails caused by a customer's own zap, nothing on our side.",
        },
    ],
    "feature": [
        {
            "subject": "Custom fields on customer profiles",
            "question": "Is it possible to add our own fields to a customer profile? We'd like "
            "to store the contract number and the account manager for each customer.",
            "clarify": "Great question! Which plan is your workspace on? Custom fields depend on "
            "the plan.",
            "detail": "We're on {plan}.",
            "answer": "Then you can! Go to Settings → Data → Custom fields, click 'New field' and "
            "choose a type (text, number, date or a list). The fields show up on every customer "
            "profile right away, and you can filter and export by them.",
            "pending": "Let me check with our product team whether that works on your plan. "
            "I'll get back to you tomorrow.",
            "followup": "Can a custom field be required when someone creates a customer?",
            "followup_answer": "Not yet, but it's on our roadmap for this quarter. I've added "
            "your vote so you'll hear from us when it ships.",
            "note": "Another request for required custom fields, +1 on the roadmap item.",
        },
        {
            "subject": "Dark mode?",
            "question": "Any plans for a dark mode? I work late and the white screen is pretty "
            "harsh on the eyes.",
            "answer": "Good news, {first}: dark mode is already there! Click your avatar → "
            "Appearance → Dark. If you pick 'System', it follows your computer's setting. 🌙",
            "followup": "Love it! Is there a dark mode in the mobile app too?",
            "followup_answer": "The mobile app follows your phone: turn on dark mode in your "
            "phone's display settings and the app switches with it.",
        },
        {
            "subject": "API rate limits",
            "question": "We're building an integration and keep hitting HTTP 429 errors. What "
            "are the API rate limits, and can they be raised for our account?",
            "clarify": "Happy to help! Roughly how many requests per minute does your "
            "integration send at its peak?",
            "detail": "Around 300 per minute when we sync in the morning.",
            "answer": "The standard limit is 100 requests per minute per workspace, which "
            "explains the 429s at 300. Two options: the bulk endpoint takes up to 100 records "
            "per request, or I raise your limit to 500 a minute on the {plan} plan. I've just "
            "done the latter, so your morning sync should go through now.",
            "pending": "Raising a limit needs a quick check by our platform team. I've asked "
            "them and will get back to you by tomorrow.",
            "followup": "The sync went through, thanks! Are the limits per workspace or per API "
            "key?",
            "followup_answer": "Per workspace: all your keys share the 500 a minute.",
            "note": "Raised the API limit to 500/min for this workspace.",
        },
        {
            "subject": "Reports to Google Sheets",
            "question": "<p>Hi team,</p><p>Is there a way to send reports straight to "
            "<b>Google Sheets</b> every Monday, instead of downloading a CSV &amp; uploading "
            "it by hand?</p>",
            "answer": "<p>Yes! Under <b>Reports → Schedule</b> you can pick Google Sheets as the "
            "destination and choose the day and time. The first time, you'll be asked to "
            "connect your Google account. The sheet is updated in place, so your charts keep "
            "working.</p>",
            "followup": "It worked last Monday but not this week?",
            "followup_answer": "The Google connection expired when your password changed. "
            "Reconnect it under Settings → Integrations and the next run will go through.",
        },
    ],
    "shipping": [
        {
            "subject": "Where is my order {order}?",
            "question": "Hi, the tracking for order {order} hasn't moved in five days. It still "
            "says 'label created'. Can you check what's going on?",
            "clarify": "Sorry for the wait, {first}! Could you confirm the delivery address, so "
            "I can check it with {carrier}?",
            "detail": "It's the one on the order, nothing has changed.",
            "answer": "Thanks! I checked with {carrier}: your parcel was held at the depot "
            "because of a misprinted barcode. They've relabelled it and it's on its way now, so "
            "you should have it within two business days. The tracking will update tonight.",
            "pending": "I've opened an inquiry with {carrier} about your parcel. They usually "
            "answer within a day, and I'll let you know what they say.",
            "followup": "The tracking updated, but now it says 'returned to sender'??",
            "followup_answer": "I'm so sorry: {carrier} sent it back by mistake. I've sent you a "
            "new parcel by express at no cost; the new tracking is in your inbox. Keep the "
            "first one if it reaches you.",
            "note": "{carrier} inquiry opened, reference in the carrier portal.",
        },
        {
            "subject": "Wrong size delivered",
            "question": "<p>I ordered the jacket in <b>M</b> but received an <b>XL</b>. Can I "
            "exchange it? Order {order}.</p>",
            "clarify": "Oh no, sorry about that! Do you still have the original packaging? It "
            "makes the return easier.",
            "detail": "Yes, I kept the box.",
            "answer": "Perfect. I've emailed you a free return label: drop the parcel at any "
            "{carrier} point. We'll ship the M as soon as the return is scanned, so you don't "
            "have to wait until it reaches us.",
            "followup": "I dropped it off on Monday but haven't heard anything since.",
            "followup_answer": "It was scanned yesterday and your M is already on its way; the "
            "tracking number is in your inbox. Thanks for your patience!",
            "note": "Warehouse mix-up, third wrong size from the same batch this week.",
        },
        {
            "subject": "Shipping to {country}",
            "question": "Do you ship to {country}? And if so, do I have to pay customs on top "
            "of the price?",
            "answer": "We do ship to {country}! Delivery takes 5–8 business days with "
            "{carrier}. Customs and import taxes are included in the price at checkout, so "
            "there's nothing extra to pay on delivery.",
            "followup": "My parcel arrived, but the courier asked for a customs fee anyway?",
            "followup_answer": "That shouldn't happen. Please send us a photo of the receipt "
            "and we'll refund the fee right away.",
        },
        {
            "subject": "Parcel arrived damaged",
            "question": "My order {order} arrived today and the box was crushed. Two of the mugs "
            "are broken 😞",
            "clarify": "I'm really sorry, {first}! Could you send a photo of the broken items? "
            "We only need it for the claim with {carrier}.",
            "detail": "Just sent two photos.",
            "answer": "Thank you, got them. I've sent you two new mugs, and there's no need to "
            "return the broken ones (please just recycle them). The new parcel leaves our "
            "warehouse tomorrow with extra padding.",
            "followup": "The new mugs arrived, but one is a different colour from the rest.",
            "followup_answer": "That colour was changed by the factory in spring, sorry! I've "
            "refunded that mug; keep it if you like it, or send it back with the label I've "
            "emailed you.",
            "note": "Claim filed with {carrier}, photos attached to the order.",
        },
    ],
}

# A short question, its short answer: with a short thank-you, under 250 visible characters.
QUICK = {
    "billing": [
        ("Do you accept PayPal?", "Yes, PayPal works on every plan. 👍"),
        ("Where can I find my invoices?", "Under Settings → Billing → Invoices, {first}."),
        ("Is there a discount for nonprofits?", "Yes: 30 % off any plan. Just send us proof."),
    ],
    "login": [
        ("How do I reset my password?", "Click 'Forgot password?' on the sign-in page."),
        ("Can I stay signed in on two laptops?", "Yes, there's no limit on devices."),
    ],
    "bug": [
        ("The page is blank for me", "We had a short outage, it's back now. Please reload!"),
        ("Search isn't finding anything?", "Fixed a minute ago, sorry! Please try again."),
    ],
    "feature": [
        ("Is there a mobile app?", "Yes, for iOS and Android. Search for us in the stores."),
        ("Can I change the language?", "Yes: Profile → Language & region."),
    ],
    "shipping": [
        ("Do you ship to {country}?", "We do! It takes 5–8 business days."),
        ("Can I still change my delivery address?", "Yes, until it ships: reply with it here."),
    ],
}

# Conversations a teammate starts from the inbox (direct outbound).
OUTBOUND = {
    "billing": [
        {
            "subject": "Your {plan} payments",
            "opener": "Hi {first}, I noticed the last two payments for your {plan} plan didn't "
            "go through. Could you check the card under Settings → Billing? Happy to help if "
            "anything is unclear.",
            "question": "Oh, thanks for the heads-up! The card expired last month. I've just "
            "added the new one. Can you check that everything's fine now?",
            "answer": "All good: the new card is on file and the outstanding {amount} went "
            "through just now. Thanks for sorting it out so quickly!",
        },
    ],
    "login": [
        {
            "subject": "Sign-in from a new device",
            "opener": "Hi {first}, we saw several sign-in attempts on your account from a new "
            "device in {country}. If that was you, all is well; if not, please reset your "
            "password and I'll help you secure the account.",
            "question": "That wasn't me! I've never been to {country}. What should I do?",
            "clarify": "Let's fix it. To be safe: do you use the same password on any other site?",
            "detail": "Yes, unfortunately, on an old forum account.",
            "answer": "I've signed out every session and blocked sign-ins from new devices. "
            "Please reset your password with the link we just emailed you (a new one, used "
            "nowhere else) and turn on two-factor authentication under Profile → Security. "
            "Nothing was changed in your account.",
        },
    ],
    "bug": [
        {
            "subject": "Your export issue is fixed",
            "opener": "Hi {first}, you reported that exports were empty last week. Our engineers "
            "released a fix in version {version} today. Could you try again and tell me if it "
            "works?",
            "question": "Just tried it: the export has data now, but the last column is cut off.",
            "answer": "Thanks for checking! The last column is cut when it contains line breaks, "
            "which is a second bug, now filed as {ticket}. Until it's fixed, ticking 'Quote all "
            "fields' in the export dialog keeps the column whole.",
        },
    ],
    "feature": [
        {
            "subject": "Scheduled reports are here",
            "opener": "Hi {first}, you asked us about scheduled reports a while ago: they're "
            "live now! Under Reports → Schedule you can email any report every week.",
            "question": "Nice! Can I send it to people who don't have an account?",
            "answer": "Yes, any email address works. They get a read-only copy of the report, "
            "no account needed, and they can unsubscribe from it themselves.",
        },
    ],
    "shipping": [
        {
            "subject": "Order {order} held at customs",
            "opener": "Hi {first}, your order {order} is held at customs in {country}. They need "
            "a copy of the invoice: could you reply with a photo of yours, or let me send ours "
            "on your behalf?",
            "question": "Please send yours, I don't have it anymore.",
            "answer": "Done: I've sent our invoice to customs, and {carrier} expects to release "
            "the parcel within two days. I'll keep an eye on the tracking for you.",
        },
    ],
}
QUICK_OUTBOUND = {
    "billing": [("Your refund", "Hi {first}, your refund of {amount} went through today.")],
    "login": [("Your account", "Hi {first}, your account is unlocked again.")],
    "bug": [("Export fixed", "Hi {first}, the export bug you reported is fixed in {version}. 🎉")],
    "feature": [("Dark mode is live", "Hi {first}, dark mode is live: Profile → Appearance.")],
    "shipping": [("Order {order}", "Hi {first}, your new order {order} has left our warehouse.")],
}

WORKFLOWS = [
    {
        "name": "Onboarding check-in",
        "rating_window_hours": 48,
        "change_window_hours": 24,
        "topics": ["feature", "login", "bug"],
        "subject": "How is it going so far?",
        "messages": [
            "Hi {first}! 👋 You've had your account for two days now. How is it going? If "
            "anything is unclear, just reply here and a real person will answer.",
            "Welcome aboard, {first}! Most teams start by importing their customers under "
            "Settings → Import. Questions? Reply to this message.",
        ],
    },
    {
        "name": "Renewal reminder",
        "rating_window_hours": None,
        "change_window_hours": None,
        "topics": ["billing"],
        "subject": "Your {plan} plan renews soon",
        "messages": [
            "Hi {first}, your {plan} plan renews in 7 days for {amount}. Nothing to do if you'd "
            "like to keep it. Questions about your plan or invoice? Just reply.",
        ],
    },
    {
        "name": "Trial ending soon",
        "rating_window_hours": 72,
        "change_window_hours": None,
        "topics": ["billing", "feature"],
        "subject": "Your trial ends in 3 days",
        "messages": [
            "Hi {first}, your free trial ends in 3 days. Pick a plan under Settings → Billing "
            "to keep your data, or reply here if you'd like a few more days to decide.",
        ],
    },
]

API_MESSAGES = [
    {
        "topic": "shipping",
        "subject": "Order {order} has shipped",
        "body": "Your order {order} has shipped with {carrier}! 📦 You can follow it from your "
        "account. Questions? Reply to this message.",
    },
    {
        "topic": "billing",
        "subject": "Payment failed",
        "body": "We couldn't charge {amount} for your {plan} plan. Please update your card under "
        "Settings → Billing within 7 days to keep your account active.",
    },
    {
        "topic": "login",
        "subject": "New sign-in to your account",
        "body": "New sign-in to your account from {browser} on {os}. If this was you, there's "
        "nothing to do. If not, reply here right away.",
    },
    {
        "topic": "bug",
        "subject": "Incident resolved",
        "body": "<p><b>Incident resolved:</b> between 09:10 and 09:40 UTC some exports failed. "
        "Everything works again &amp; failed exports can be started once more.</p>",
    },
    {
        "topic": "feature",
        "subject": "What's new in {version}",
        "body": "New in {version}: scheduled reports, dark mode and a faster search. Reply to "
        "tell us what you think!",
    },
]

SPAM = [
    {
        "subject": "Get on page 1 of Google",
        "question": "Hello, we are a leading SEO agency and noticed your website is not on page "
        "1 of Google. We can fix this for only $199/month. Reply for a FREE audit!!!",
    },
    {
        "subject": "Updated price list",
        "question": "<p>Dear partner,</p><p>Please find our updated price list for Q3 attached. "
        "Let us know if you'd like to place an order.</p><p>Best regards,<br>Sales team</p>",
    },
    {
        "subject": "Partnership opportunity",
        "question": "Hi! I run a marketing newsletter with 40k subscribers. Would you be "
        "interested in a sponsored post? Rates start at $500.",
    },
    {
        "subject": "Out of office",
        "question": "I'm out of the office until Monday with limited access to email. For "
        "urgent matters, please contact my colleague.",
    },
]
SPAM_NOTES = ["Spam, closing quietly.", "Vendor mail, not a support request.", "Auto-reply."]

THANKS = [
    "ok thanks",
    "Thanks!",
    "Perfect, thank you 🙏",
    "great, that worked",
    "ok",
    "Got it, thanks a lot!",
    "👍",
    "Thank you so much, that was quick!",
    "Brilliant, thanks {agent}!",
    "That did it. Have a nice day!",
]
AUTO_REPLIES = [
    "Thanks for your message! 👋 The team usually replies within a few hours.",
    "Thanks! We've got your message and will get back to you here. You'll also get our reply "
    "by email.",
]
BOT_REMINDERS = [
    "Just checking in: did you see our message above? Reply here any time.",
    "A quick reminder about our message above. We're here if you have questions!",
]
SHORT_THANKS = ["ok thanks", "Thanks!", "great, thanks", "👍", "Perfect 🙏", "ok"]
WRAPUPS = [
    "You're welcome! I'll close this for now; just reply here if anything else comes up.",
    "Happy to help, {first}. Have a great day!",
    "Glad that sorted it! 😊",
    "Anytime! Take care.",
]
NUDGES = [
    "Any update on this?",
    "Hello? Is anyone there?",
    "Just following up on my message above.",
    "Still waiting for an answer, this is urgent for us.",
]
PENDING = [
    "Let me check this with the team. I'll get back to you tomorrow at the latest.",
    "Good question, I need to ask a colleague. I'll follow up within a day.",
]
FOLLOWUPS = ["Hi again, one more question about this: is there anything else I need to do?"]
FOLLOWUP_ANSWERS = ["Nothing else on your side, you're all set! 🙂"]
GROUP_JOINS = [
    "Jumping in here: I'm seeing the same thing on my account.",
    "cc'ing myself, I handle this on our side.",
    "Same question from me, we share the account.",
]
NOTES = [
    "Customer is on the {plan} plan, account owner.",
    "Long-time customer, please answer quickly.",
    "Checked the logs, nothing unusual on our side.",
]
HANDOFF_NOTES = [
    "@{helper} could you take this one? You know this setup better than I do.",
    "Handing this over to {helper}, I'm off tomorrow.",
    "@{helper} this looks like the case you had last week, can you answer?",
]
STALE_NOTES = [
    "No answer for over a week, closing. They can reply to reopen.",
    "Customer didn't come back, closing.",
]
WAKE_NOTES = [
    "Got the answer we were waiting for, reopening to tell the customer.",
    "Heard back from the team, reopening.",
    "@{agent} the news you were waiting for is in, see the thread in #support.",
]
TEAMMATE_FOLLOWUPS = [
    "Quick follow-up, {first}: the fix I mentioned is now live for everyone. Let me know if "
    "you see anything odd!",
    "Hi {first}, just checking in: is everything still working as expected since we last spoke?",
]
GENERIC = {
    "pending": PENDING,
    "followup": FOLLOWUPS,
    "followup_answer": FOLLOWUP_ANSWERS,
    "note": NOTES,
}

PLANS = ["Starter", "Pro", "Team", "Business"]
AMOUNTS = ["$19.00", "$49.00", "$99.00", "€29.00", "£39.00", "$249.00"]
BROWSERS = ["Chrome", "Firefox", "Safari", "Edge"]
SYSTEMS = ["Windows 11", "macOS", "iOS 17", "Android 14"]
CARRIERS = ["DHL", "UPS", "FedEx", "PostNord", "DPD"]
COUNTRIES = ["Canada", "Norway", "Japan", "Brazil", "Australia", "Switzerland", "Kenya"]


# --- the cast ---------------------------------------------------------------------------------


@dataclass
class Cast:
    teammates: list[Teammate]
    weights: list[int]
    new_teammates: list[Teammate]
    skipped_usernames: list[str]
    workflows: list[tuple[Workflow, dict]]
    contacts: list[Contact]
    new_contacts: int


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return "".join(ch for ch in plain.lower() if ch.isalnum())


def teammates_make(password: str) -> tuple[list[Teammate], list[int], list[Teammate], list[str]]:
    """The demo teammates, made by `teammate_create` when missing (with `password`); those
    that exist already are reused with the password they have. A username taken by a user who
    is not a teammate is skipped. Returns the teammates, their weights, the new ones and the
    skipped usernames."""
    teammates, weights, new, skipped = [], [], [], []
    for name, username, weight in TEAMMATES:
        teammate = Teammate.objects.select_related("user").filter(user__username=username).first()
        if teammate is None:
            try:
                teammate = services.teammate_create(
                    name=name,
                    email=f"{username}@{TEAMMATE_DOMAIN}",
                    username=username,
                    password=password,
                )
            except ValidationError:
                skipped.append(username)
                continue
            new.append(teammate)
        teammates.append(teammate)
        weights.append(weight)
    if not teammates:
        raise ValidationError("No demo teammate could be made: their usernames are taken.")
    return teammates, weights, new, skipped


def workflows_make() -> list[tuple[Workflow, dict]]:
    made = []
    for spec in WORKFLOWS:
        workflow, _ = Workflow.objects.get_or_create(
            name=spec["name"],
            defaults={
                "rating_window_hours": spec["rating_window_hours"],
                "change_window_hours": spec["change_window_hours"],
            },
        )
        made.append((workflow, spec))
    return made


def contacts_make(rng: random.Random, count: int) -> tuple[list[Contact], int]:
    """`count` customers with realistic names and example.* addresses, made by
    `contact_create`; an address already in the database is reused. Returns them and how many
    were new."""
    wanted, seen = [], set()
    while len(wanted) < count:
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        style = rng.randrange(4)
        local = {
            0: f"{_ascii(first)}.{_ascii(last)}",
            1: f"{_ascii(first)[0]}{_ascii(last)}",
            2: f"{_ascii(first)}{rng.randint(1, 99)}",
            3: f"{_ascii(first)}_{_ascii(last)}",
        }[style]
        domain = rng.choice(CONTACT_DOMAINS)
        role = Contact.Role.LEAD if rng.random() < LEAD_SHARE else Contact.Role.USER
        unnamed = role == Contact.Role.LEAD and rng.random() < UNNAMED_LEAD_SHARE
        email = f"{local}@{domain}"
        if email in seen:  # a namesake; with tens of thousands of contacts, names run out
            email = f"{local}{rng.randint(2, 999)}@{domain}"
            if email in seen:
                continue
        seen.add(email)
        wanted.append((email, role, "" if unnamed else f"{first} {last}"))
    existing: dict[str, Contact] = {}
    for chunk in _chunks([email for email, _, _ in wanted]):
        for contact in Contact.objects.filter(email__in=chunk).order_by("pk"):
            existing.setdefault(contact.email, contact)
    contacts, new = [], 0
    for email, role, name in wanted:
        contact = existing.get(email)
        if contact is None:
            contact = services.contact_create(role=role, name=name, email=email)
            new += 1
        contacts.append(contact)
    return contacts, new


# --- stories ----------------------------------------------------------------------------------


@dataclass(kw_only=True)
class Step:
    """One service call, `gap` after the previous step."""

    gap: timedelta

    def run(self, conversation: Conversation | None, moment: datetime) -> Conversation:
        raise NotImplementedError


@dataclass(kw_only=True)
class Start(Step):
    channel: str
    origin: str
    contacts: list[Contact]
    body: str
    started_by: Teammate | Contact | None
    workflow: Workflow | None
    subject: str

    def run(self, conversation, moment):
        return services.conversation_start(
            channel=self.channel,
            origin=self.origin,
            contacts=self.contacts,
            body=self.body,
            started_by=self.started_by,
            workflow=self.workflow,
            subject=self.subject,
        )


@dataclass(kw_only=True)
class Reply(Step):
    author: Teammate | Contact
    body: str

    def run(self, conversation, moment):
        services.conversation_reply(conversation=conversation, author=self.author, body=self.body)
        return conversation


@dataclass(kw_only=True)
class Note(Step):
    author: Teammate
    body: str

    def run(self, conversation, moment):
        services.conversation_note(conversation=conversation, author=self.author, body=self.body)
        return conversation


@dataclass(kw_only=True)
class Bot(Step):
    body: str

    def run(self, conversation, moment):
        services.conversation_bot_message(conversation=conversation, body=self.body)
        return conversation


@dataclass(kw_only=True)
class Snooze(Step):
    """Snooze for `length`. A conversation left snoozed (`keep`) wakes at least `keep` after the
    real now: a snooze into the past is refused, and it should still be asleep when looked at."""

    by: Teammate
    length: timedelta
    keep: timedelta | None = None

    def run(self, conversation, moment):
        until = moment + self.length
        if self.keep is not None:
            until = max(until, timezone.now() + self.keep)
        services.conversation_snooze(conversation=conversation, by=self.by, until=until)
        return conversation


@dataclass(kw_only=True)
class Reopen(Step):
    by: Teammate | Contact

    def run(self, conversation, moment):
        services.conversation_reopen(conversation=conversation, by=self.by)
        return conversation


@dataclass(kw_only=True)
class Close(Step):
    by: Teammate
    quiet: bool = False

    def run(self, conversation, moment):
        services.conversation_close(conversation=conversation, by=self.by, quiet=self.quiet)
        return conversation


@dataclass
class Plan:
    """What one conversation will be; `steps` and `start` are filled by its story."""

    index: int
    ending: str
    channel: str
    origin: str
    topic: str
    thread: dict
    contacts: list[Contact]
    teammate: Teammate
    helper: Teammate
    workflow: Workflow | None = None
    bot_message: str = ""
    subject: str = ""
    details: dict = field(default_factory=dict)
    steps: list[Step] = field(default_factory=list)
    start: datetime | None = None

    @property
    def group(self) -> bool:
        return len(self.contacts) > 1


class Script:
    """Writes a plan's steps. Each method adds one step after a pause drawn from `pace`
    (seconds, log-uniform) unless `gap` is given."""

    def __init__(self, plan: Plan, rng: random.Random):
        self.plan = plan
        self.rng = rng
        self.closer = plan.teammate  # the teammate who answers (and closes) from now on
        self.asked = False  # whether the teammate has asked for details (the thread's clarify)

    # choices
    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    def pick(self, options: list[str]) -> str:
        return self.rng.choice(options)

    def has(self, key: str) -> bool:
        return key in self.plan.thread

    def line(self, key: str) -> str:
        if key in self.plan.thread:
            return self.plan.thread[key]
        return self.pick(GENERIC[key])

    def fill(self, template: str) -> str:
        if not self.plan.details["first"]:  # an unnamed lead: "Thanks, {first}!" -> "Thanks!"
            template = template.replace(", {first}", "").replace(" {first}", "")
        return template.format_map(self.plan.details)

    def text(self, template: str) -> str:
        body = self.fill(template)
        if self.plan.channel == Channel.EMAIL and not body.startswith("<"):
            body = "".join(f"<p>{escape(par, quote=False)}</p>" for par in body.split("\n\n"))
        return body

    def pause(self, pace: tuple[float, float]) -> timedelta:
        low, high = pace
        return timedelta(seconds=round(math.exp(self.rng.uniform(math.log(low), math.log(high)))))

    def within(self, length: timedelta) -> timedelta:
        """A pause that ends before `length` has passed (before a snooze wakes)."""
        return length * self.rng.uniform(0.2, 0.8)

    def _add(self, step_type, pace, gap, **fields):
        if not self.plan.steps:
            gap = timedelta(0)
        elif gap is None:
            gap = self.pause(pace)
        self.plan.steps.append(step_type(gap=gap, **fields))

    # steps
    def start(self, body: str, *, by: Teammate | Contact | None = None):
        p = self.plan
        self._add(
            Start,
            None,
            None,
            channel=p.channel,
            origin=p.origin,
            contacts=p.contacts,
            body=self.text(body),
            started_by=by,
            workflow=p.workflow,
            subject=p.subject,
        )

    def customer(self, template, *, who=None, pace=CUSTOMER_PACE, gap=None):
        if who is None:
            contacts = self.plan.contacts
            who = contacts[1] if len(contacts) > 1 and self.chance(0.2) else contacts[0]
        self._add(Reply, pace, gap, author=who, body=self.text(template))

    def teammate(self, template, *, who=None, pace=TEAMMATE_PACE, gap=None):
        self._add(Reply, pace, gap, author=who or self.closer, body=self.text(template))

    def note(self, template, *, who=None, pace=NOTE_PACE, gap=None):
        self._add(Note, pace, gap, author=who or self.closer, body=self.fill(template))

    def bot(self, template, *, pace=QUICK_PACE, gap=None):
        self._add(Bot, pace, gap, body=self.text(template))

    def snooze(self, low, high, *, final=False, pace=QUICK_PACE) -> timedelta:
        length = self.pause((low, high))
        keep = self.pause((HOUR, 4 * DAY)) if final else None
        self._add(Snooze, pace, None, by=self.closer, length=length, keep=keep)
        return length

    def reopen(self, *, by=None, pace=QUICK_PACE, gap=None):
        self._add(Reopen, pace, gap, by=by or self.closer)

    def close(self, *, quiet=False, pace=CLOSE_PACE, gap=None):
        self._add(Close, pace, gap, by=self.closer, quiet=quiet)


# Story building blocks.


def open_question(s: Script) -> None:
    """The conversation starts and the customer has asked their question."""
    p = s.plan
    if p.origin == Origin.CUSTOMER:
        s.start(s.line("question"), by=p.contacts[0])
        if p.channel == Channel.MESSENGER and s.chance(0.3):
            s.bot(s.pick(AUTO_REPLIES), pace=(1, 5))
    elif p.origin == Origin.DIRECT_OUTBOUND:
        s.start(s.line("opener"), by=p.teammate)
        s.customer(s.line("question"), who=p.contacts[0])
    else:
        s.start(p.bot_message)
        s.customer(s.line("question"), who=p.contacts[0])
    if p.group and s.chance(0.6):
        s.customer(s.pick(GROUP_JOINS), who=p.contacts[1])


def ask_details(s: Script) -> None:
    """The teammate asks what the answer needs (when the thread has such a question), once."""
    if s.has("clarify") and not s.asked:
        s.asked = True
        s.teammate(s.line("clarify"))
        s.customer(s.line("detail"), who=s.plan.contacts[0])


def resolve(s: Script) -> None:
    """Teammates work on it until the answer is given."""
    if s.chance(0.3):
        s.note(s.line("note"))
    ask_details(s)
    if s.chance(0.15):  # a hand-off: the last teammate reply is not the assignee's (D2)
        s.note(s.pick(HANDOFF_NOTES))
        s.closer = s.plan.helper
    s.teammate(s.line("answer"))


def thank(s: Script, p: float = 0.65) -> None:
    if s.chance(p):
        s.customer(s.pick(THANKS))
        if s.chance(0.4):
            s.teammate(s.pick(WRAPUPS), pace=QUICK_PACE)


# Stories: one per way a conversation goes. Each writes the whole thread.


def story_closed(s: Script) -> None:
    """Asked, answered, thanked, closed."""
    open_question(s)
    resolve(s)
    thank(s)
    s.close()


def story_closed_short(s: Script) -> None:
    """A quick question and answer: under 250 visible characters in all (E3 skips it)."""
    p = s.plan
    if p.origin == Origin.CUSTOMER:
        s.start(s.line("question"), by=p.contacts[0])
        s.teammate(s.line("answer"))
        if s.chance(0.7):
            s.customer(s.pick(SHORT_THANKS))
    else:
        if p.origin == Origin.DIRECT_OUTBOUND:
            s.start(s.line("opener"), by=p.teammate)
        else:
            s.start(p.bot_message)
        s.customer(s.pick(SHORT_THANKS))
    s.close()


def story_closed_stale(s: Script) -> None:
    """The teammate asks something, the customer never answers, the teammate closes more than
    7 days after the last reply (E4 skips it)."""
    open_question(s)
    s.teammate(s.line("clarify") if s.has("clarify") else s.line("answer"))
    s.note(s.pick(STALE_NOTES), pace=STALE_PACE)
    s.close(pace=QUICK_PACE)


def story_closed_quietly_after_thanks(s: Script) -> None:
    """Closed; the customer's late 'ok thanks' reopens it (Z3); closed again quietly (E8)."""
    open_question(s)
    resolve(s)
    s.close()
    s.customer(s.pick(THANKS), who=s.plan.contacts[0], pace=(10 * MINUTE, 2 * DAY))
    s.close(quiet=True, pace=(MINUTE, 6 * HOUR))


def story_closed_quietly_spam(s: Script) -> None:
    """Spam or supplier mail: no teammate reply, closed quietly (E8)."""
    s.start(s.line("question"), by=s.plan.contacts[0])
    if s.chance(0.5):
        s.note(s.pick(SPAM_NOTES))
    s.close(quiet=True)


def story_reopened_and_closed(s: Script) -> None:
    """Closed, reopened days later (by the customer or the teammate), closed again (E6)."""
    open_question(s)
    resolve(s)
    thank(s, 0.5)
    s.close()
    if s.chance(0.6):
        s.customer(s.line("followup"), who=s.plan.contacts[0], pace=(DAY, 6 * DAY))
        s.teammate(s.line("followup_answer"))
        thank(s, 0.5)
    else:
        s.reopen(pace=(DAY, 6 * DAY))
        s.teammate(s.pick(TEAMMATE_FOLLOWUPS), pace=QUICK_PACE)
        if s.chance(0.5):
            s.customer(s.pick(THANKS))
    s.close()


def story_snoozed_then_customer(s: Script) -> None:
    """Snoozed; the customer writes before it wakes, which reopens it (Z3); answered, closed."""
    open_question(s)
    ask_details(s)
    s.teammate(s.line("pending"))
    length = s.snooze(4 * HOUR, 3 * DAY)
    s.customer(s.pick(NUDGES), who=s.plan.contacts[0], gap=s.within(length))
    s.teammate(s.line("answer"), pace=QUICK_PACE)
    thank(s)
    s.close()


def story_snoozed_then_reopened(s: Script) -> None:
    """Snoozed; news arrives before it wakes, the teammate reopens it, answers, closes."""
    open_question(s)
    ask_details(s)
    s.teammate(s.line("pending"))
    length = s.snooze(DAY, 4 * DAY)
    s.note(s.pick(WAKE_NOTES), who=s.plan.helper, gap=s.within(length))
    s.reopen()
    s.teammate(s.line("answer"), pace=QUICK_PACE)
    thank(s)
    s.close()


def story_closed_unanswered(s: Script) -> None:
    """An outbound message nobody answered, closed after a few days (no teammate reply from
    the customer's side, so E2 skips workflow/API ones)."""
    p = s.plan
    if p.origin == Origin.DIRECT_OUTBOUND:
        s.start(s.line("opener"), by=p.teammate)
    else:
        s.start(p.bot_message)
        if s.chance(0.5):
            s.bot(s.pick(BOT_REMINDERS), pace=(DAY, 3 * DAY))
    s.close(quiet=s.chance(0.3), pace=(DAY, 5 * DAY))


def story_open_unanswered(s: Script) -> None:
    """The customer asked; no teammate has answered yet."""
    open_question(s)
    if s.chance(0.4):
        s.customer(s.pick(NUDGES), who=s.plan.contacts[0], pace=(10 * MINUTE, 6 * HOUR))


def story_open_waiting(s: Script) -> None:
    """A conversation under way: the customer wrote last and waits for the teammate."""
    open_question(s)
    ask_details(s)
    if not s.has("clarify") or s.chance(0.5):
        s.teammate(s.line("answer"))
        s.customer(s.line("followup"), who=s.plan.contacts[0])


def story_snoozed(s: Script) -> None:
    """The teammate waits for news and snoozes it; it wakes in the future (Z1)."""
    open_question(s)
    if s.chance(0.5):
        ask_details(s)
    s.teammate(s.line("pending"))
    s.snooze(4 * HOUR, 4 * DAY, final=True)


@dataclass(frozen=True)
class Ending:
    story: Callable[[Script], None]
    weight: int
    state: str
    origins: tuple[str, ...] = tuple(Origin.values)
    # Stories that end open or snoozed happen lately: their last step is within this of now.
    recent: timedelta | None = None
    short: bool = False


ENDINGS = {
    "closed": Ending(story_closed, 30, State.CLOSED),
    "closed_short": Ending(story_closed_short, 10, State.CLOSED, short=True),
    "closed_stale": Ending(story_closed_stale, 6, State.CLOSED),
    "closed_quietly_after_thanks": Ending(story_closed_quietly_after_thanks, 4, State.CLOSED),
    "closed_quietly_spam": Ending(story_closed_quietly_spam, 3, State.CLOSED, (Origin.CUSTOMER,)),
    "reopened_and_closed": Ending(story_reopened_and_closed, 5, State.CLOSED),
    "snoozed_then_customer": Ending(story_snoozed_then_customer, 4, State.CLOSED),
    "snoozed_then_reopened": Ending(story_snoozed_then_reopened, 3, State.CLOSED),
    "closed_unanswered": Ending(
        story_closed_unanswered,
        6,
        State.CLOSED,
        (Origin.DIRECT_OUTBOUND, Origin.WORKFLOW, Origin.API),
    ),
    "open_unanswered": Ending(story_open_unanswered, 8, State.OPEN, recent=timedelta(hours=18)),
    "open_waiting": Ending(story_open_waiting, 12, State.OPEN, recent=timedelta(days=4)),
    "snoozed": Ending(story_snoozed, 15, State.SNOOZED, recent=timedelta(days=5)),
}

ORIGIN_WEIGHTS = {
    Origin.CUSTOMER: 70,
    Origin.DIRECT_OUTBOUND: 12,
    Origin.WORKFLOW: 10,
    Origin.API: 8,
}
EMAIL_SHARE = 0.4
GROUP_SHARE = 0.06
CONVERSATIONS_PER_CONTACT = (2.0, 3.0)


# --- planning ---------------------------------------------------------------------------------


class Casting:
    """Who takes part, chosen in constant time per conversation however many contacts there
    are: each contact's first conversation comes before anyone's second (leads first for spam),
    then anyone comes back."""

    def __init__(self, contacts: list[Contact]):
        self.pool = contacts
        self.leads = [c for c in contacts if c.role == Contact.Role.LEAD] or contacts
        self.position = {c.pk: i for i, c in enumerate(contacts)}
        self.unused = set(self.position)
        self._cursor = {False: 0, True: 0}  # the first possibly unused one, in pool or leads

    def next_new(self, *, leads: bool = False) -> Contact | None:
        people = self.leads if leads else self.pool
        i = self._cursor[leads]
        while i < len(people) and people[i].pk not in self.unused:
            i += 1
        self._cursor[leads] = i
        return people[i] if i < len(people) else None

    def used(self, contact: Contact) -> None:
        self.unused.discard(contact.pk)

    def other_than(self, rng: random.Random, contact: Contact) -> Contact | None:
        """Anyone but `contact`, each as likely."""
        if len(self.pool) < 2:
            return None
        i = rng.randrange(len(self.pool) - 1)
        return self.pool[i + (i >= self.position[contact.pk])]


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def coverage() -> list[dict]:
    """Plans forced first, so that even a small run has every ending (hence every state), every
    origin, both channels and a group conversation."""
    specs = [{"origin": Origin.CUSTOMER, "ending": name} for name in ENDINGS]
    specs[0]["group"] = True
    for origin in (Origin.DIRECT_OUTBOUND, Origin.WORKFLOW, Origin.API):
        specs.append({"origin": origin})
    for spec in specs:
        if Origin.CUSTOMER not in ENDINGS[spec.get("ending", "closed")].origins:
            spec["origin"] = Origin.DIRECT_OUTBOUND
    for i, spec in enumerate(specs):
        spec["channel"] = Channel.EMAIL if i % 2 else Channel.MESSENGER
    return specs


def details(rng: random.Random, plan: Plan) -> dict:
    """What the templates of one conversation are filled with."""
    contact = plan.contacts[0]
    return {
        "first": contact.name.split(" ")[0],
        "agent": plan.teammate.name.split(" ")[0],
        "helper": plan.helper.name.split(" ")[0],
        "plan": rng.choice(PLANS),
        "amount": rng.choice(AMOUNTS),
        "card": f"{rng.randint(0, 9999):04d}",
        "order": f"#{rng.randint(10000, 99999)}",
        "invoice": f"INV-{rng.randint(2000, 9999)}",
        "ticket": f"BUG-{rng.randint(100, 2999)}",
        "version": f"4.{rng.randint(2, 19)}",
        "browser": rng.choice(BROWSERS),
        "os": rng.choice(SYSTEMS),
        "carrier": rng.choice(CARRIERS),
        "country": rng.choice(COUNTRIES),
    }


def plan_one(rng: random.Random, index: int, spec: dict, cast: Cast, casting: Casting) -> Plan:
    origin = spec.get("origin") or _weighted(rng, ORIGIN_WEIGHTS)
    allowed = {name: e.weight for name, e in ENDINGS.items() if origin in e.origins}
    ending_name = spec.get("ending") or _weighted(rng, allowed)
    ending = ENDINGS[ending_name]
    channel = spec.get("channel") or (
        Channel.EMAIL if rng.random() < EMAIL_SHARE else Channel.MESSENGER
    )

    # People: every contact gets a conversation, then they come back. Spam comes from leads.
    if ending_name == "closed_quietly_spam":
        contact = casting.next_new(leads=True) or rng.choice(casting.leads)
    else:
        contact = casting.next_new() or rng.choice(casting.pool)
    casting.used(contact)
    contacts = [contact]
    group = spec.get("group", rng.random() < GROUP_SHARE)
    if group and not ending.short and ending_name != "closed_quietly_spam":
        other = casting.other_than(rng, contact)
        if other is not None:
            contacts.append(other)
    teammate = rng.choices(cast.teammates, weights=cast.weights)[0]
    helpers = [t for t in cast.teammates if t.pk != teammate.pk] or [teammate]
    helper = rng.choice(helpers)

    # What it is about.
    workflow, bot_subject, bot_message = None, "", ""
    if origin == Origin.WORKFLOW:
        workflow, wf_spec = rng.choice(cast.workflows)
        topic = rng.choice(wf_spec["topics"])
        bot_subject, bot_message = wf_spec["subject"], rng.choice(wf_spec["messages"])
    elif origin == Origin.API:
        message = rng.choice(API_MESSAGES)
        topic, bot_subject, bot_message = message["topic"], message["subject"], message["body"]
    else:
        topic = rng.choice(TOPICS)
    if ending_name == "closed_quietly_spam":
        thread = rng.choice(SPAM)
    elif ending.short and origin == Origin.CUSTOMER:
        question, answer = rng.choice(QUICK[topic])
        thread = {"subject": question, "question": question, "answer": answer}
    elif ending.short and origin == Origin.DIRECT_OUTBOUND:
        subject, opener = rng.choice(QUICK_OUTBOUND[topic])
        thread = {"subject": subject, "opener": opener}
    elif origin == Origin.DIRECT_OUTBOUND:
        thread = rng.choice(OUTBOUND[topic])
    else:
        thread = rng.choice(THREADS[topic])

    plan = Plan(
        index=index,
        ending=ending_name,
        channel=channel,
        origin=origin,
        topic=topic,
        thread=thread,
        contacts=contacts,
        teammate=teammate,
        helper=helper,
        workflow=workflow,
        bot_message=bot_message,
    )
    plan.details = details(rng, plan)
    if channel == Channel.EMAIL:
        subject = bot_subject or thread.get("subject") or ""
        plan.subject = subject.format_map(plan.details)
    ending.story(Script(plan, rng))
    return plan


def place(rng: random.Random, plan: Plan, now: datetime) -> None:
    """Choose when the story starts: its last step is before now, its first within the history;
    stories that end open or snoozed are recent."""
    length = sum((step.gap for step in plan.steps), timedelta(0))
    latest = now - END_MARGIN - length
    earliest = now - HISTORY
    recent = ENDINGS[plan.ending].recent
    if recent is not None:
        earliest = max(earliest, latest - recent)
    spread = max(latest - earliest, timedelta(0))
    start = earliest + spread * rng.random()
    plan.start = start.replace(microsecond=0)


def plans_make(rng: random.Random, count: int, cast: Cast, now: datetime) -> list[Plan]:
    specs = coverage()[:count]
    specs += [{} for _ in range(count - len(specs))]
    plans = []
    casting = Casting(cast.contacts)
    for index, spec in enumerate(specs):
        plan = plan_one(rng, index, spec, cast, casting)
        place(rng, plan, now)
        plans.append(plan)
    plans.sort(key=lambda p: (p.start, p.index))
    return plans


# --- playing ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class FollowUp:
    """Something that happens to a conversation at a moment of its own, outside its story:
    another app's part of the demo (a worker deciding on a close, a customer answering a
    survey). `action` runs under `clock.at(moment)`, merged in time order with the story's
    steps, and may return more follow-ups, none before its own moment. Moments after the
    story's end run after its last step; the caller keeps them before now."""

    moment: datetime
    action: Callable[[], Iterable[FollowUp] | None]


# Called after each close with the conversation and the close's moment; returns follow-ups.
AfterClose = Callable[[Conversation, datetime], Iterable[FollowUp] | None]


def play(plan: Plan, after_close: AfterClose | None = None) -> Conversation:
    """Make the conversation: each step through its service, at its moment, with the
    follow-ups `after_close` asks for merged in at theirs. The caller holds the transaction
    (`seed` commits a batch of conversations at a time)."""
    moment = plan.start
    conversation = None
    due: list[tuple[datetime, int, FollowUp]] = []  # a heap, in time order then arrival order
    added = itertools.count()

    def add(follow_ups: Iterable[FollowUp] | None, reached: datetime) -> None:
        for follow_up in follow_ups or ():
            if follow_up.moment < reached:
                raise ValueError(f"A follow-up at {follow_up.moment} is before {reached}.")
            heapq.heappush(due, (follow_up.moment, next(added), follow_up))

    def run_due(until: datetime | None) -> None:
        while due and (until is None or due[0][0] < until):
            follow_up = heapq.heappop(due)[2]
            with clock.at(follow_up.moment):
                add(follow_up.action(), follow_up.moment)

    for step in plan.steps:
        moment += step.gap
        run_due(moment)
        with clock.at(moment):
            conversation = step.run(conversation, moment)
        if after_close is not None and isinstance(step, Close):
            add(after_close(conversation, moment), moment)
    run_due(None)
    return conversation


# --- the whole run ----------------------------------------------------------------------------


@dataclass
class SeedReport:
    seed: int
    cast: Cast
    conversations: list[Conversation]
    plans: list[Plan]
    seconds: float
    seconds_conversations: float
    figures: dict = field(default_factory=dict)

    def counts(self, attribute: str) -> Counter:
        return Counter(getattr(c, attribute) for c in self.conversations)


def _chunks(items: list, size: int = 500):
    for i in range(0, len(items), size):
        yield items[i : i + size]


def figures(conversations: list[Conversation]) -> dict:
    """Totals over what was made, for the summary."""
    ids = [c.pk for c in conversations]
    parts: Counter = Counter()
    closes = quiet = late = 0
    for chunk in _chunks(ids):
        by_kind = (
            Part.objects.filter(conversation_id__in=chunk)
            .values_list("kind")
            .annotate(n=Count("pk"))
            .order_by()
        )
        for kind, n in by_kind:
            parts[kind] += n
        for closed_at, last_reply_at, is_quiet in ConversationClose.objects.filter(
            conversation_id__in=chunk
        ).values_list("closed_at", "last_reply_at", "quiet"):
            closes += 1
            quiet += is_quiet
            late += bool(last_reply_at and closed_at - last_reply_at > timedelta(days=7))
    return {
        "parts": parts,
        "closes": closes,
        "quiet_closes": quiet,
        "late_closes": late,
        "groups": sum(1 for c in conversations if c.contact_count > 1),
        "short": sum(1 for c in conversations if 0 < c.reply_characters <= 250),
    }


def seed(
    *,
    conversations: int,
    seed: int,
    password: str,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
    after_close: AfterClose | None = None,
    batch: int = BATCH,
) -> SeedReport:
    """Make the demo data: the teammates (missing ones get `password`), the workflows, about
    one contact per 2–3 conversations, and `conversations` conversations over the last 90
    days. The same `seed` makes the same conversations. `after_close` adds follow-ups to each
    close (see `play`). Conversations are committed `batch` at a time: each service call is a
    savepoint inside it, and a failure rolls back the batch under way."""
    began = time.monotonic()
    rng = random.Random(seed)
    now = now or timezone.now()
    with transaction.atomic():
        teammates, weights, new_teammates, skipped = teammates_make(password)
        workflows = workflows_make()
        contact_count = 0
        if conversations:
            contact_count = max(2, round(conversations / rng.uniform(*CONVERSATIONS_PER_CONTACT)))
        contacts, new_contacts = contacts_make(rng, contact_count)
    cast = Cast(teammates, weights, new_teammates, skipped, workflows, contacts, new_contacts)

    plans = plans_make(rng, conversations, cast, now) if conversations else []
    began_conversations = time.monotonic()
    made = []
    for chunk in _chunks(plans, max(batch, 1)):
        with transaction.atomic():
            for plan in chunk:
                made.append(play(plan, after_close))
                if progress:
                    progress(len(made), len(plans))
    finished = time.monotonic()
    return SeedReport(
        seed=seed,
        cast=cast,
        conversations=made,
        plans=plans,
        seconds=finished - began,
        seconds_conversations=finished - began_conversations,
        figures=figures(made),
    )
