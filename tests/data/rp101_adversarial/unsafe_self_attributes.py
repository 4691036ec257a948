# attributes of self, the caller catches
# fix: unsafe
import redis


class Loader:
    def __init__(self, r: redis.Redis):
        self.r = r
        self.a = self.b = None

    def load(self):
        self.a = self.r.get("a")
        self.b = self.r.get("l")


def main(r: redis.Redis):
    ld = Loader(r)
    try:
        ld.load()
    except redis.ResponseError:
        pass
    return ld.a, ld.b
