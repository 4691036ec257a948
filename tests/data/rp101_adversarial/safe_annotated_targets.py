# annotated targets, the first command fails
# fix: safe
import redis


def main(r: redis.Redis):
    a: str = r.hget("a", "f")
    b: "str | None" = r.get("b")
    return a, b
