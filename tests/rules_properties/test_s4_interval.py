"""S4: the Wilson interval at known values and as a property; S4a the threshold; S4b the
target claim. Pure functions of `ratings.scale`, no database."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ratings.scale import (
    ABOVE,
    BELOW,
    DEFAULT_MIN_RATINGS,
    NO_RATINGS,
    TOO_FEW,
    WITHIN,
    target_standing,
    too_few_ratings,
    wilson_interval,
)
from tests.rules_properties.support import PROPERTY


@pytest.mark.parametrize(
    "positive, total, low, high",
    [
        # 95 % Wilson score intervals (z = 1.96), to four places; 4 of 10 is the issue's.
        (4, 10, 0.1682, 0.6873),
        (0, 10, 0.0, 0.2775),
        (10, 10, 0.7225, 1.0),
        (1, 1, 0.2065, 1.0),
        (0, 1, 0.0, 0.7935),
        (50, 100, 0.4038, 0.5962),
        (81, 263, 0.2553, 0.3662),
    ],
)
def test_s4_wilson_interval_at_known_values(positive, total, low, high):
    found = wilson_interval(positive, total)
    assert found == pytest.approx((low, high), abs=5e-5)


def test_s4_the_ends_are_exact_and_nothing_to_divide_is_none():
    assert wilson_interval(0, 10)[0] == 0.0
    assert wilson_interval(10, 10)[1] == 1.0
    assert wilson_interval(0, 0) is None


def test_s4_a_wider_z_gives_a_wider_interval():
    narrow, wide = wilson_interval(4, 10, z=1.0), wilson_interval(4, 10, z=2.576)
    assert wide[0] < narrow[0] < 0.4 < narrow[1] < wide[1]


def test_s4_more_positive_than_ratings_is_refused():
    with pytest.raises(ValueError):
        wilson_interval(11, 10)


@PROPERTY
@given(
    st.integers(min_value=1, max_value=100_000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    )
)
def test_s4_property_the_interval_holds_the_share_within_0_and_1(case):
    positive, total = case
    low, high = wilson_interval(positive, total)
    assert 0.0 <= low <= positive / total <= high <= 1.0
    assert low < high  # never zero-wide, not even at 0 % or 100 %


@PROPERTY
@given(
    st.integers(min_value=1, max_value=10_000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    )
)
def test_s4_property_each_bound_solves_the_score_equation(case):
    """The definition, independently of the closed form: a bound b is where the share is z
    standard errors from b, (p - b)² = z²·b(1 - b)/n."""
    positive, total = case
    share = positive / total
    for bound in wilson_interval(positive, total):
        assert (share - bound) ** 2 == pytest.approx(
            1.96**2 * bound * (1 - bound) / total, rel=1e-6, abs=1e-12
        )


@PROPERTY
@given(st.integers(min_value=0, max_value=50), st.integers(min_value=1, max_value=50))
def test_s4_property_more_ratings_at_the_same_share_narrow_the_interval(positive, total):
    positive = min(positive, total)
    low, high = wilson_interval(positive, total)
    low10, high10 = wilson_interval(10 * positive, 10 * total)
    assert high10 - low10 < high - low


# --- S4a: too few ratings ----------------------------------------------------------------------


def test_s4a_too_few_below_the_default_threshold_of_10():
    assert DEFAULT_MIN_RATINGS == 10
    assert too_few_ratings(9, DEFAULT_MIN_RATINGS) is True
    assert too_few_ratings(10, DEFAULT_MIN_RATINGS) is False
    assert too_few_ratings(0, DEFAULT_MIN_RATINGS) is True


def test_s4a_a_threshold_of_1_only_needs_one_rating():
    assert (too_few_ratings(0, 1), too_few_ratings(1, 1)) == (True, False)


# --- S4b: the target claim ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "interval, target, standing",
    [
        ((0.81, 0.95), 0.80, ABOVE),  # wholly above
        ((0.80, 0.95), 0.80, WITHIN),  # the low end on the target: not wholly above
        ((0.60, 0.79), 0.80, BELOW),  # wholly below
        ((0.60, 0.80), 0.80, WITHIN),  # the high end on the target: not wholly below
        ((0.1682, 0.6873), 0.60, WITHIN),  # 4 of 10 against 60 %: can't tell yet
        ((0.1682, 0.6873), 0.70, BELOW),  # … against 70 %: below
        ((0.1682, 0.6873), 0.15, ABOVE),  # … against 15 %: above
    ],
)
def test_s4b_above_or_below_only_when_the_interval_is_wholly_so(interval, target, standing):
    assert target_standing(interval, target) == standing


def test_s4b_nothing_is_claimed_on_too_few_or_no_ratings():
    assert target_standing((0.0, 0.2775), 0.80, too_few=True) == TOO_FEW
    assert target_standing(None, 0.80) == NO_RATINGS
    assert target_standing(None, 0.80, too_few=True) == NO_RATINGS


@PROPERTY
@given(
    st.integers(min_value=1, max_value=2000).flatmap(
        lambda n: st.tuples(st.integers(min_value=0, max_value=n), st.just(n))
    ),
    st.integers(min_value=0, max_value=100),
)
def test_s4b_property_a_claim_is_never_against_the_share_itself(case, target):
    """ABOVE implies the CSAT is above the target; BELOW that it is below."""
    positive, total = case
    standing = target_standing(wilson_interval(positive, total), target / 100)
    share = positive / total
    if standing == ABOVE:
        assert share > target / 100
    if standing == BELOW:
        assert share < target / 100
