"""The notifications service with the registry and the sites service as real processes, the outside providers
played by a local server the providers' SDKs talk to."""

from __future__ import annotations

import uuid

import pymongo
import pytest

from tests.notifications.fake_providers import FakeProviders
from tests.platform import start_platform


def provider_env(providers: FakeProviders) -> dict[str, str]:
    return {
        "NRMM_MESSAGE_CHANNEL": "sms", "NRMM_SMS_ENDPOINT": providers.url, "NRMM_SMS_ACCESS_KEY_ID": "test-ak",
        "NRMM_SMS_ACCESS_KEY_SECRET": "test-secret", "NRMM_SMS_SIGN_NAME": "重庆非道路机械",
        "NRMM_WECHAT_API_BASE": providers.url, "NRMM_WECHAT_APPID": "wx-test", "NRMM_WECHAT_SECRET": "wx-secret",
        "NRMM_PROVIDER_TIMEOUT_SECONDS": "1", "NRMM_DELIVERY_RETRY_SECONDS": "0.3", "NRMM_DELIVERY_MAX_ATTEMPTS": "3",
        "NRMM_DELIVERY_LEASE_SECONDS": "2", "NRMM_DELIVERY_POLL_SECONDS": "0.1", "NRMM_REMINDER_POLL_SECONDS": "0.2",
    }


def new_mobile() -> str:
    return f"139{uuid.uuid4().int % 10**8:08d}"


@pytest.fixture(scope="module")
def providers():
    fake = FakeProviders().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def platform(infra, providers):
    running = start_platform(infra, ["registry", "notifications"], provider_env(providers))
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def notifications_db(infra, platform):
    client = pymongo.MongoClient(infra.mongodb_url, tz_aware=True)
    yield client[f"{platform.namespace}_notifications"]
    client.close()
