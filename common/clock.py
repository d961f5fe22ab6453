"""The one injectable clock: the domain never reads the wall clock directly (POLICY.md, 'The clock')."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

CHINA_TZ = ZoneInfo("Asia/Shanghai")


class Clock:
    """Gives 'now'; fixed to an instant when a setting says so (tests, demos, replaying an edition)."""

    def __init__(self, fixed: datetime | None = None) -> None:
        self._fixed: datetime | None = None
        if fixed is not None:
            self.fix(fixed)

    def fix(self, instant: datetime) -> None:
        """Show `instant` from now on (a naive instant is read in Asia/Shanghai, as the notice's dates are)."""
        self._fixed = instant if instant.tzinfo is not None else instant.replace(tzinfo=CHINA_TZ)

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
