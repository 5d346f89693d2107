"""The inspection service's runtime: the kernel's (relay, projectors) plus its durable scheduler, supervised like
them (restarted with backoff when it fails) and reported by /readyz under ``scheduler``."""

from __future__ import annotations

from nrmm_kernel.runtime import ServiceRuntime

from .app.scheduler import Scheduler
from .app.sharing import SharingImports
from .app.sharing_closer import FollowUpCloser
from .app.sharing_jobs import ImportJobs
from .app.views_refresh import ViewsRefresher


class InspectionRuntime(ServiceRuntime):
    scheduler: Scheduler | None = None
    sharing: SharingImports | None = None
    import_jobs: ImportJobs | None = None
    views: ViewsRefresher | None = None

    async def start(self) -> None:
        await super().start()
        self.scheduler = Scheduler(self.db, self.store)
        await self.scheduler.ensure_indexes()
        if self.run_background:
            # catches up at start on deadlines that passed while the service was down, then polls; it needs the
            # database only (its events reach the broker through the outbox relay)
            poll = self.settings.scheduler_poll_seconds
            self.supervise("scheduler", lambda stop: self.scheduler.run(stop, poll), health=self.scheduler.health,
                           needs_broker=False, leased=True)  # one instance runs it (several instances: lease.py)
        # data sharing (rule D5): the imports' write-side indexes; the closer of follow-ups once a code is applied for
        self.sharing = SharingImports(self.db, self.store)
        await self.sharing.ensure_indexes()
        self.import_jobs = ImportJobs(self.db, self.sharing, self.settings.service_name)
        await self.import_jobs.ensure_indexes()
        if self.run_background:
            jobs = self.import_jobs
            self.supervise("sharing-imports", lambda stop: jobs.run(stop, self.settings.scheduler_poll_seconds),
                           health=jobs.health, needs_broker=False, leased=True)
            closer = FollowUpCloser(self.db, self.sharing)
            self.supervise("sharing-closer", lambda stop: closer.run(stop, self.settings.scheduler_poll_seconds),
                           health=closer.health, needs_broker=False, leased=True)
        self.views = ViewsRefresher(self.db)
        await self.views.ensure_indexes()
        if self.run_background:
            # department views and rankings (rules D3, D6), recomputed from the documents the projectors wrote
            self.supervise("views", lambda stop: self.views.run(stop, self.settings.views_poll_seconds),
                           health=self.views.health, needs_broker=False, leased=True)
