"""The inspection service's runtime: the kernel's (relay, projectors) plus its durable scheduler, supervised like
them (restarted with backoff when it fails) and reported by /readyz under ``scheduler``."""

from __future__ import annotations

from nrmm_kernel.runtime import ServiceRuntime

from .app.scheduler import Scheduler


class InspectionRuntime(ServiceRuntime):
    scheduler: Scheduler | None = None

    async def start(self) -> None:
        await super().start()
        self.scheduler = Scheduler(self.db, self.store)
        await self.scheduler.ensure_indexes()
        if self.run_background:
            # catches up at start on deadlines that passed while the service was down, then polls; it needs the
            # database only (its events reach the broker through the outbox relay)
            poll = self.settings.scheduler_poll_seconds
            self.supervise("scheduler", lambda stop: self.scheduler.run(stop, poll), health=self.scheduler.health,
                           needs_broker=False)
