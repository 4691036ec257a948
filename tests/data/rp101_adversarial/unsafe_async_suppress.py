# asyncio: suppress around the run
# fix: unsafe
import redis.asyncio


from contextlib import suppress


async def main(r: redis.asyncio.Redis):
    a = b = None
    with suppress(redis.ResponseError):
        a = await r.get("a")
        b = await r.get("h")
    return a, b
