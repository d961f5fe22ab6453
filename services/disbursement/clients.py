"""Typed calls from disbursement to intake."""
from __future__ import annotations

from common.http import SyncServiceClient


class IntakeClient:
    """Reads the applications the districts have passed."""

    PAGE = 200

    def __init__(self, settings, auth) -> None:
        self.http = SyncServiceClient("intake", settings.intake_url, timeout=settings.call_timeout_s, auth=auth)

    def applications(self, edition: str, status: str | None) -> list[dict]:
        """Every application of an edition (optionally in one status), page by page."""
        items, offset = [], 0
        while True:
            params = {"edition": edition, "limit": self.PAGE, "offset": offset}
            if status:
                params["status"] = status
            response = self.http.request("GET", "/applications", params=params)
            response.raise_for_status()
            page = response.json()
            items += page["items"]
            offset += self.PAGE
            if offset >= page["total"]:
                return items

    def close(self) -> None:
        self.http.close()
