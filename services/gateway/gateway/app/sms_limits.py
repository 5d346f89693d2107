"""How many SMS may go out: per client address and for everyone together (an hour), then per number (a minute,
a day). Issue 13: 30 numbers from one address were 30 SMS, each number within its own limits (SMS pumping).

Each limit numbers its sends (app/numbered.py), so racing requests are judged in one order. A send that one limit
refuses is marked refused under every limit it was taken for, and counts against none of them."""

from __future__ import annotations

from datetime import datetime, timedelta

from nrmm_kernel.errors import AppError

from ..domain import rules
from ..settings import Settings
from .numbered import Attempt, NumberedAttempts


class SmsSendLimits:
    def __init__(self, sends: NumberedAttempts, settings: Settings):
        self.sends = sends
        self.settings = settings

    async def take(self, mobile: str, address: str | None, now: datetime) -> list[Attempt]:
        hour = now - timedelta(hours=1)
        limits = [(f"sms-address:{rules.client_network(address)}", self.settings.sms_max_per_address, "address"),
                  ("sms-all", self.settings.sms_max_per_hour, "overall")]
        taken: list[Attempt] = []
        try:
            for key, limit, scope in limits:
                send = await self.sends.take(key, now, since=hour)
                taken.append(send)
                rules.check_sms_volume(rules.sms_sends_that_count(send.earlier), now, limit=limit, scope=scope)
            send = await self.sends.take(mobile, now, since=now - timedelta(days=1))
            taken.append(send)
            rules.check_sms_rate(rules.sms_sends_that_count(send.earlier), now,
                                 resend_seconds=self.settings.sms_resend_seconds,
                                 daily_limit=self.settings.sms_daily_limit)
        except AppError:
            await self.mark(taken, "refused")
            raise
        return taken

    async def mark(self, sends: list[Attempt], state: str) -> None:
        for send in sends:
            await self.sends.mark(send, state)
