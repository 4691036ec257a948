# results unused, the second fails
# fix: safe
import redis


def main(r: redis.Redis):
    r.get("a")
    r.get("h")
    return "done"
