"""Typed calls from intake to eligibility and calculation."""
from __future__ import annotations

from common.http import ServiceClient


class PolicyClients:
    """The two services a submitted application is evaluated by."""

    def __init__(self, settings, auth) -> None:
        self.eligibility = ServiceClient("eligibility", settings.eligibility_url, timeout=settings.call_timeout_s,
                                         auth=auth)
        self.calculation = ServiceClient("calculation", settings.calculation_url, timeout=settings.call_timeout_s,
                                         auth=auth)

    async def evaluate(self, dossier: dict) -> dict:
        """The eligibility answer for a dossier (a stateless evaluation: safe to retry)."""
        response = await self.eligibility.request("POST", "/evaluations", json=dossier, idempotent=True)
        response.raise_for_status()
        return response.json()

    async def compute(self, dossier: dict) -> dict:
        """The amount and its trace for a dossier (safe to retry)."""
        response = await self.calculation.request("POST", "/computations", json=dossier, idempotent=True)
        response.raise_for_status()
        return response.json()

    async def aclose(self) -> None:
        await self.eligibility.aclose()
        await self.calculation.aclose()
