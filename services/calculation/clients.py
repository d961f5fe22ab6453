"""Typed calls from calculation to intake: the dossier of an application priced by its id."""
from __future__ import annotations

from urllib.parse import quote

from common.http import SyncServiceClient
from common.problems import Forbidden, NotFound, ServiceUnavailable


class IntakeClient:
    """Reads an application's dossier, as the caller may (its own token is passed on, so intake's scoping holds)."""

    def __init__(self, settings) -> None:
        self.http = SyncServiceClient("intake", settings.intake_url, timeout=settings.call_timeout_s)

    def dossier(self, application_id: str, authorization: str) -> dict:
        """GET /applications/{id}/dossier on intake; its 403/404 are the caller's."""
        response = self.http.request("GET", f"/applications/{quote(application_id, safe='')}/dossier",
                                     headers={"Authorization": authorization})
        if response.status_code == 404:
            raise NotFound(f"No application {application_id} whose dossier you may read.")
        if response.status_code == 403:
            raise Forbidden(f"You may not read the dossier of application {application_id}.")
        if response.status_code != 200:
            raise ServiceUnavailable(f"The intake service answered {response.status_code} for the dossier.",
                                     service="intake")
        return response.json()

    def close(self) -> None:
        """Close the connection pool."""
        self.http.close()
