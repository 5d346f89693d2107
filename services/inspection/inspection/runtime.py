"""The inspection service's runtime: the kernel's (relay, projectors) plus its durable scheduler, supervised with
them and reported truthfully by /readyz."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from nrmm_kernel.envelope import utcnow
from nrmm_kernel.runtime import ServiceRuntime

from .app.scheduler import Scheduler


class InspectionRuntime(ServiceRuntime):
    scheduler: Scheduler | None = None
    _scheduler_task: asyncio.Task | None = None

    async def start(self) -> None:
        await super().start()
        self.scheduler = Scheduler(self.db, self.store)
        await self.scheduler.ensure_indexes()
        if self.run_background:
            # catches up at start on deadlines that passed while the service was down, then polls
            self._scheduler_task = asyncio.create_task(
                self.scheduler.run(self._stop, self.settings.scheduler_poll_seconds), name="scheduler")
            self._tasks.append(self._scheduler_task)

    async def readiness(self) -> dict[str, str]:
        checks = await super().readiness()
        if self._scheduler_task is not None:
            limit = timedelta(seconds=max(3 * self.settings.scheduler_poll_seconds, 120))
            last = self.scheduler.last_success
            if self._scheduler_task.done():
                checks["scheduler"] = "stopped"
            elif self.scheduler.last_error is not None:
                checks["scheduler"] = f"failing: {self.scheduler.last_error}"
            elif last is not None and utcnow() - last > limit:
                checks["scheduler"] = f"stalled since {last.isoformat()}"
            else:
                checks["scheduler"] = "ok"  # alive; a first pass still running counts as alive
        return checks
