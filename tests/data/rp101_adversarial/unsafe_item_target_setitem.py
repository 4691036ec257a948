# a custom __setitem__ that writes Redis
# fix: unsafe
import redis


class Store(dict):
    def __init__(self, r):
        super().__init__()
        self.r = r

    def __setitem__(self, k, v):
        self.r.set("b", "set-" + k)
        super().__setitem__(k, v)


def main(r: redis.Redis):
    s = Store(r)
    s["x"] = r.get("a")
    y = r.get("b")
    return dict(s), y
