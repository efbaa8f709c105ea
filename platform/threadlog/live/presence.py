"""How many readers watch a thread: this node's count, summed over nodes through Redis when REDIS_URL is set."""
from __future__ import annotations

import asyncio

from django.conf import settings

TTL_SECONDS = 90


class LocalPresence:
    shared = False

    async def set_local(self, thread_key: str, count: int) -> None:
        return None

    async def total(self, thread_key: str, local: int) -> int:
        return local


class RedisPresence:
    """Each node keeps `presence:<thread>:<node>` = its count (expiring unless refreshed) in a set per thread."""

    shared = True

    def __init__(self, node_id: str, url: str):
        import redis.asyncio as redis

        self.node_id = node_id
        self.redis = redis.from_url(url)
        self.counts: dict[str, int] = {}
        self._refresher: asyncio.Task | None = None

    def _key(self, thread_key: str, node: str) -> str:
        return f"threadlog:presence:{thread_key}:{node}"

    async def set_local(self, thread_key: str, count: int) -> None:
        self.counts[thread_key] = count
        async with self.redis.pipeline(transaction=False) as pipe:
            pipe.sadd(f"threadlog:presence:{thread_key}", self.node_id)
            pipe.set(self._key(thread_key, self.node_id), count, ex=TTL_SECONDS)
            await pipe.execute()
        if self._refresher is None:
            self._refresher = asyncio.get_running_loop().create_task(self._refresh())

    async def _refresh(self) -> None:
        from threadlog.ops.dependency import REDIS

        while True:
            await asyncio.sleep(TTL_SECONDS / 3)
            try:
                for thread_key, count in list(self.counts.items()):
                    if count:
                        await self.redis.set(self._key(thread_key, self.node_id), count, ex=TTL_SECONDS)
            except Exception as error:  # Redis away: the next round tries again
                REDIS.failed(error, during="presence refresh")

    async def total(self, thread_key: str, local: int) -> int:
        nodes = [n.decode() for n in await self.redis.smembers(f"threadlog:presence:{thread_key}")]
        others = [n for n in nodes if n != self.node_id]
        if not others:
            return local
        values = await self.redis.mget([self._key(thread_key, n) for n in others])
        return local + sum(int(v) for v in values if v is not None)


def make_presence(node_id: str):
    if settings.REDIS_URL:
        return RedisPresence(node_id, settings.REDIS_URL)
    return LocalPresence()
