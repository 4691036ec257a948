# asyncio: error reply on the second read
# fix: safe
import redis.asyncio


async def main(r: redis.asyncio.Redis):
    a = await r.get("a")
    b = await r.get("h")
    return a, b
