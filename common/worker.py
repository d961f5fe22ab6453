"""A background loop on the event loop: do a round of work, sleep when there was none, survive failures."""
from __future__ import annotations

import asyncio
import logging

log = logging.getLogger("fundflow.worker")


class PollingWorker:
    """Subclasses implement `round()`, returning whether it found work (then the next round starts at once)."""

    def __init__(self, poll_s: float) -> None:
        self.poll_s = poll_s
        self._task: asyncio.Task | None = None

    async def round(self) -> bool:
        raise NotImplementedError

    def start(self) -> None:
        """Run in the background of the event loop."""
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        """Cancel the loop and wait for it to end."""
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass

    async def _run(self) -> None:
        while True:
            try:
                if await self.round():
                    continue
            except asyncio.CancelledError:
                raise
            except Exception:  # the database or a peer may be away: the next round tries again
                log.exception("%s round failed", type(self).__name__)
            await asyncio.sleep(self.poll_s)
