# locals() would gain the pipeline's names
# fix: display-only
import redis


def main(r: redis.Redis):
    a = r.get("a")
    b = r.get("b")
    return sorted(locals())
