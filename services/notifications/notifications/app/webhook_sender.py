"""Department event feeds: webhooks. Each subscription with a webhook has its own sender task (so an endpoint that
hangs holds up nobody else), under one supervised dispatcher that starts, ends and restarts them. A sender takes the
feed's pending items in order, up to ``NRMM_FEED_WEBHOOK_WINDOW`` at once, signs each (Standard Webhooks; the item's
id is the ``webhook-id``, the same on every attempt and after a restart) and posts it; a 2xx marks it sent, anything
else is retried with doubling delays, then the item is a dead letter that an administrator may send again.
At-least-once: an item is marked sent only after its answer, so a process killed mid-delivery sends it again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import httpx
from prometheus_client import Counter

from nrmm_kernel.aio import sleep_or_stop
from nrmm_kernel.logging import get_logger
from nrmm_kernel.supervisor import Backoff, Health

from ..domain.webhooks import address_problem, signed_headers
from .feed_hub import FeedHub
from .feed_store import FeedStore

log = get_logger("notifications.webhooks")
ATTEMPTS = Counter("nrmm_feed_webhook_attempts_total", "Webhook deliveries of department feeds", ["outcome"])
MAX_RETRY_DELAY = 3600.0
RESOLVED_FOR = 60.0  # seconds a host's addresses are trusted
MARK_GATHER_SECONDS = 0.02  # sent marks gathered into one write
SUBSCRIPTION_FRESH = 5.0  # seconds a sender trusts its copy of the subscription (a rotation refreshes it at once)


def active_secrets(subscription: dict, now: datetime) -> list[str]:
    return [s["secret"] for s in subscription.get("secrets", [])
            if s.get("expires_at") is None or _aware(s["expires_at"]) > now]


def _aware(value: datetime) -> datetime:
    from datetime import UTC
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class WebhookSender:
    def __init__(self, store: FeedStore, hub: FeedHub, settings, clock: Callable[[], datetime]):
        self.store, self.hub, self.settings, self.now = store, hub, settings, clock
        self._scan: set[str] = set()  # senders that look in the database for what to send
        self._fresh: set[str] = set()  # senders that read their subscription again
        self._marks: list[str] = []
        self._flush: asyncio.Future | None = None
        self._flusher: asyncio.Task | None = None
        self.client = httpx.AsyncClient(timeout=settings.feed_webhook_timeout_seconds, follow_redirects=False,
                                        limits=httpx.Limits(max_connections=None, max_keepalive_connections=1000))
        self._workers: dict[str, asyncio.Task] = {}
        self._wakeups: dict[str, asyncio.Event] = {}
        self._resolved: dict[tuple[str, int], tuple[float, list[str]]] = {}
        self.sent = 0

    def wake(self, subscription_id: str) -> None:
        self._wakeups.setdefault(subscription_id, asyncio.Event()).set()

    async def run(self, stop: asyncio.Event, health: Health) -> None:
        """The dispatcher: one sender per subscription with a webhook, started again if it ends."""
        try:
            while not stop.is_set():
                wanted = {d["_id"] for d in await self.store.subs.find(
                    {"status": "active", "webhook": {"$ne": None}}, {"_id": 1}).to_list(None)}
                for sub_id in list(self._workers):
                    if sub_id not in wanted:
                        self._workers.pop(sub_id).cancel()
                for sub_id in wanted:
                    task = self._workers.get(sub_id)
                    if task is None or task.done():
                        self._workers[sub_id] = asyncio.create_task(self._sender(sub_id, stop),
                                                                    name=f"webhook-{sub_id}")
                health.ok(lag=None)
                await sleep_or_stop(stop, 2.0)
        finally:
            for task in self._workers.values():
                task.cancel()
            self._workers.clear()

    async def _sender(self, sub_id: str, stop: asyncio.Event) -> None:
        """Two ways to find what to send: the database's pending items (at start, while any are waiting for a retry,
        after a redelivery), else what the router has just written, from memory (items are in the database before
        the hub hears of them, so a scan that found nothing pending covers everything up to the hub's mark read
        before it)."""
        wakeup = self._wakeups.setdefault(sub_id, asyncio.Event())
        backoff = Backoff(first=0.5, limit=10)
        self._scan.add(sub_id)
        after, sub, sub_read = 0, None, 0.0
        while not stop.is_set():
            try:
                wakeup.clear()
                if sub is None or sub_id in self._fresh or time.monotonic() - sub_read > SUBSCRIPTION_FRESH:
                    self._fresh.discard(sub_id)
                    sub, sub_read = await self.store.get(sub_id), time.monotonic()
                if sub is None or sub.get("status") != "active" or not sub.get("webhook"):
                    return
                if sub_id in self._scan:
                    mark = self.hub.latest(sub_id) or 0
                    pending = await self.store.pending(sub_id, self.settings.feed_webhook_window)
                    if not pending:
                        self._scan.discard(sub_id)
                        after = mark
                        continue
                    now = self.now()
                    due = [p for p in pending if _aware(p["next_at"]) <= now]
                    if not due:
                        await self._sleep(wakeup, min(30.0, *((_aware(p["next_at"]) - now).total_seconds()
                                                             for p in pending)))
                        continue
                else:
                    fresh = self.hub.after(sub_id, after, self.settings.feed_webhook_window)
                    if fresh is None and self.hub.latest(sub_id) is None:  # nothing routed to it in this process yet
                        await self._sleep(wakeup, 30.0)
                        continue
                    if fresh is None:  # memory does not reach back that far: the database
                        self._scan.add(sub_id)
                        continue
                    if not fresh:
                        await self._sleep(wakeup, 30.0)
                        continue
                    due = [{"_id": f"{sub_id}.{seq}", "seq": seq, "body": body, "attempts": 0} for seq, body in fresh]
                    after = fresh[-1][0]
                outcomes = await asyncio.gather(*(self._send(sub, item) for item in due))
                await self._mark_sent([i["_id"] for i, ok in zip(due, outcomes, strict=True) if ok is None])
                for item, error in zip(due, outcomes, strict=True):
                    if error is not None:
                        await self._failed(item, error)
                        self._scan.add(sub_id)  # its retry comes from the database
                backoff.reset()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - the database is away: tried again, from the database
                self._scan.add(sub_id)
                sub = None
                log.warning("webhook.sender_error", subscription=sub_id, error=f"{type(exc).__name__}: {exc}"[:300])
                await backoff.wait(stop)

    async def _mark_sent(self, ids: list[str]) -> None:
        """Group commit: the senders' marks of a few milliseconds go in one write, which each of them awaits."""
        if not ids:
            return
        self._marks.extend(ids)
        if self._flush is None:
            self._flush = asyncio.get_running_loop().create_future()
            self._flusher = asyncio.create_task(self._write_marks())
        await asyncio.shield(self._flush)

    async def _write_marks(self) -> None:
        await asyncio.sleep(MARK_GATHER_SECONDS)
        ids, done = self._marks, self._flush
        self._marks, self._flush = [], None
        try:
            await self.store.mark_sent(ids, self.now())
            done.set_result(None)
        except Exception as exc:  # noqa: BLE001 - every waiting sender hears of it and takes the database path
            done.set_exception(exc)

    @staticmethod
    async def _sleep(wakeup: asyncio.Event, seconds: float) -> None:
        try:
            await asyncio.wait_for(wakeup.wait(), max(seconds, 0.0))
        except TimeoutError:
            pass

    def refresh(self, sub_id: str) -> None:
        """A redelivery or a rotation: the sender reads the subscription and the database again."""
        self._scan.add(sub_id)
        self._fresh.add(sub_id)
        self.wake(sub_id)

    async def _send(self, sub: dict, item: dict) -> str | None:
        """One attempt; None when the subscriber took it, else what went wrong."""
        url = sub["webhook"]["url"]
        problem = await self._target_problem(url)
        if problem:
            ATTEMPTS.labels("refused").inc()
            return problem
        body = item["body"].encode()
        headers = signed_headers(active_secrets(sub, self.now()), item["_id"], int(time.time()), body)
        try:
            answer = await self.client.post(url, content=body, headers=headers)
        except httpx.TimeoutException:
            ATTEMPTS.labels("timeout").inc()
            return "timeout"
        except httpx.HTTPError as exc:
            ATTEMPTS.labels("unreachable").inc()
            return f"unreachable: {type(exc).__name__}"
        if 200 <= answer.status_code < 300:
            ATTEMPTS.labels("sent").inc()
            self.sent += 1
            return None
        ATTEMPTS.labels("refused_by_subscriber").inc()
        return f"http_{answer.status_code}"

    async def _target_problem(self, url: str) -> str | None:
        """Checked at every attempt, on the addresses the host has now (a name may have moved to a private one)."""
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
        key, now = (parts.hostname, port), time.monotonic()
        cached = self._resolved.get(key)
        if cached is None or now - cached[0] > RESOLVED_FOR:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port)
            except OSError:
                return "unresolvable_host"
            cached = (now, sorted({info[4][0] for info in infos}))
            self._resolved[key] = cached
        for address in cached[1]:
            problem = address_problem(address, allow_private=self.settings.feed_allow_private_targets,
                                      allow_loopback=self.settings.feed_allow_loopback_http)
            if problem:
                return problem
        return None

    async def _failed(self, item: dict, error: str) -> None:
        attempts = item.get("attempts", 0) + 1
        now = self.now()
        if attempts >= self.settings.feed_webhook_max_attempts:
            update = {"wh": "dead", "dead_at": now}
            log.warning("webhook.dead_letter", item=item["_id"], error=error)
        else:
            delay = min(self.settings.feed_webhook_retry_seconds * 2 ** (attempts - 1), MAX_RETRY_DELAY)
            update = {"next_at": now + timedelta(seconds=delay)}
        await self.store.items.update_one({"_id": item["_id"], "wh": "pending"},
                                          {"$set": {**update, "attempts": attempts, "last_error": error,
                                                    "last_attempt_at": now}})

    async def redeliver(self, sub_id: str, sequence: int) -> dict | None:
        """A dead letter (or a pending item) is sent again from its first attempt."""
        item_id = f"{sub_id}.{sequence}"
        doc = await self.store.items.find_one({"_id": item_id, "sub": sub_id}, {"body": 0})
        if doc is None or doc.get("wh") not in ("dead", "pending"):
            return doc
        await self.store.items.update_one({"_id": item_id}, {"$set": {"wh": "pending", "attempts": 0,
                                                                      "next_at": self.now(), "last_error": None}})
        self.refresh(sub_id)
        return await self.store.items.find_one({"_id": item_id}, {"body": 0})

    async def close(self) -> None:
        await self.client.aclose()
