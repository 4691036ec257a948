# asyncio: another task of the program writes between the awaits
# fix: unsafe
import redis.asyncio


import asyncio


async def main(r: redis.asyncio.Redis):
    async def writer():
        await r.set("b", "w")

    t = asyncio.create_task(writer())
    a = await r.get("a")
    b = await r.get("b")
    await t
    return a, b
