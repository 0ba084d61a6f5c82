"""Fixtures shared by the modules of this package."""

from datetime import timedelta

import pytest

from tests.report_helpers import (
    DAY,
    rate,
)


@pytest.fixture
def mixed(capture, teammate, other_teammate):
    """One rating of each value by Tess (newest: 5), plus Otto's 2 with a reason."""
    by_value = {}
    for minutes, value in enumerate((1, 2, 3, 4, 5)):
        by_value[value] = rate(
            capture,
            teammate,
            value,
            at=DAY + timedelta(minutes=minutes),
            comment=f"comment {value}" if value != 3 else "",
            reasons=["Slow to answer"] if value == 1 else (),
        )
    otto = rate(
        capture,
        other_teammate,
        2,
        at=DAY - timedelta(days=2),
        comment="slow",
        reasons=["Problem not solved"],
    )
    return by_value, otto
