# asyncio chained comparison
# fix: none
import redis.asyncio


async def main(r: redis.asyncio.Redis):
    return await r.get("a") == "0" == await r.get("h")
