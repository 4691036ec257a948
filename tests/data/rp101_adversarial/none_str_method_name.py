# a method named like a str method writes Redis: opaque, it ends the run
# fix: none
import redis


class Repo:
    def __init__(self, r):
        self.r = r

    def count(self, k):
        return self.r.incr(k)


def main(r: redis.Redis):
    repo = Repo(r)
    a = r.get("n")
    repo.count("n")
    b = r.get("n")
    return a, b
