"""A relay in its own process, so a test can kill it with SIGKILL mid-flight."""

import asyncio
import sys

from nrmm_kernel.bus import make_producer
from nrmm_kernel.eventstore import EventStore
from nrmm_kernel.relay import OutboxRelay
from nrmm_kernel.runtime import mongo_client


async def main(mongodb_url: str, database: str, bootstrap: str, topic: str) -> None:
    client = mongo_client(mongodb_url)
    producer = make_producer(bootstrap)
    await producer.start()
    relay = OutboxRelay(EventStore(client[database]), producer, topic, batch_size=7, poll_seconds=0.05)
    await relay.run()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
