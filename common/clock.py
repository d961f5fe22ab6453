"""The one injectable clock: the domain never reads the wall clock directly (POLICY.md, 'The clock')."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """Gives 'now'; fixed to an instant when a setting says so (tests, demos, replaying an edition)."""

    def __init__(self, fixed: datetime | None = None) -> None:
        if fixed is not None and fixed.tzinfo is None:
            fixed = fixed.replace(tzinfo=CHINA_TZ)
        self._fixed = fixed

    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        if self._fixed is not None:
            return self._fixed.astimezone(timezone.utc)
        return datetime.now(timezone.utc)

    def today_in_china(self) -> date:
        """The calendar date in Asia/Shanghai, which is how the notice's dates are read."""
        return self.now().astimezone(CHINA_TZ).date()


def china_date(instant: datetime) -> date:
    """The Asia/Shanghai calendar date of an instant."""
    if instant.tzinfo is None:
        instant = instant.replace(tzinfo=timezone.utc)
    return instant.astimezone(CHINA_TZ).date()
