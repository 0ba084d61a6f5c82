"""Fixtures shared by the modules of this package."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.factories import ContactFactory, TeammateFactory
from tests.hostile_input.support import (
    TEXTS,
)
from tests.report_helpers import DAY, rate


@pytest.fixture
def hostile_ratings(capture):
    """One rating per hostile text: its teammate, its contact and its comment all carry it.
    Rated 5, so each also shows among its teammate's achievements (R4)."""
    made = []
    for i, text in enumerate(TEXTS):
        teammate = TeammateFactory(name=text, email=f"hostile{i}@example.com")
        contact = ContactFactory(name=text, email=f"hostile-customer{i}@example.com")
        rating = rate(
            capture,
            teammate,
            5,
            at=DAY + timedelta(minutes=i),
            comment=text,
            contact=contact,
            subject=text,
        )
        made.append((text, teammate, rating))
    return made
