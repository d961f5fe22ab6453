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

    def dossier(self, application_id: str) -> dict:
        """The application's dossier, as eligibility and calculation receive it."""
        response = self.http.request("GET", f"/applications/{application_id}/dossier")
        response.raise_for_status()
        return response.json()

    def applicant(self, applicant_id: str) -> dict:
        """A unit, with its bank account (unmasked for a service)."""
        response = self.http.request("GET", f"/applicants/{applicant_id}")
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.http.close()


class CalculationClient:
    """Unit caps and budget scaling, computed by the calculation service."""

    def __init__(self, settings, auth) -> None:
        self.http = SyncServiceClient("calculation", settings.calculation_url, timeout=settings.call_timeout_s,
                                      auth=auth)

    def _post(self, path: str, body: dict) -> dict:
        # stateless computations: safe to retry
        response = self.http.request("POST", path, json=body, idempotent=True)
        response.raise_for_status()
        return response.json()

    def compute(self, dossier: dict) -> dict:
        """The amount and trace of a dossier (with the auditor's disallowed lines)."""
        return self._post("/computations", dossier)

    def unit_caps(self, edition: str, items: list[dict]) -> dict:
        """Items with their amount after the per-unit caps (G1.3.3, G5.2)."""
        return self._post("/unit-caps", {"edition": edition, "items": items})

    def budget_scaling(self, budget: str, items: list[dict]) -> dict:
        """Items scaled to the fund, exact to the fen (N4.3)."""
        return self._post("/budget-scaling", {"budget": budget, "items": items})

    def close(self) -> None:
        self.http.close()


class EligibilityClient:
    """Debarments sent to the eligibility service's registry (N3.2)."""

    def __init__(self, settings, auth) -> None:
        self.http = SyncServiceClient("eligibility", settings.eligibility_url, timeout=settings.call_timeout_s,
                                      auth=auth)

    def debar(self, uscc: str, reason: str, source: str, starts_on: str) -> dict:
        """Record a debarment of the edition's length (three years for forged materials)."""
        response = self.http.request("POST", "/debarments", json={"uscc": uscc, "reason": reason, "source": source,
                                                                  "starts_on": starts_on})
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.http.close()
