# asyncio: finally prints the first result
# fix: unsafe
import redis.asyncio


async def main(r: redis.asyncio.Redis):
    a = "unset"
    try:
        try:
            a = await r.get("a")
            b = await r.get("h")
            return b
        finally:
            print("a", a)
    except redis.ResponseError:
        return "err"
