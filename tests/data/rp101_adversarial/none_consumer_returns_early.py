# a consumer that can return ends the run: no fix (and no finding) across it
# fix: none
import redis


def main(r: redis.Redis):
    a = r.get("a")
    if a is None:
        return "none"
    b = r.get("b")
    return a, b
