# a client on self, results in locals, an error reply on the second
# fix: safe
import redis


class Repo:
    def __init__(self, r: redis.Redis):
        self.r = r

    def load(self):
        name = self.r.get("a")
        tags = self.r.smembers("a")
        return name, tags


def main(r: redis.Redis):
    return Repo(r).load()
