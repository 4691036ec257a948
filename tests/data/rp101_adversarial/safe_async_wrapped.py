# asyncio: wrapped results
# fix: safe
import redis.asyncio


async def main(r: redis.asyncio.Redis):
    n = int(await r.get("n"))
    size = await r.hlen("h")
    return n + size
