"""Constants and helpers shared by the modules of this package."""

from datetime import date

from reports.selectors import Period

MARCH_PERIOD = Period(first_day=date(2025, 3, 1), last_day=date(2025, 3, 31))


REASON = "Slow to answer"


OTHER_REASON = "Problem not solved"
