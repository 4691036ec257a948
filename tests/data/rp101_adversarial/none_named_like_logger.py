# an object named like a logger writes Redis: opaque, it ends the run
# fix: none
import redis


class Audit:
    def __init__(self, r):
        self.r = r

    def info(self, msg):
        self.r.set("b", msg)


def main(r: redis.Redis):
    auditlog = Audit(r)
    a = r.get("a")
    auditlog.info("seen")
    b = r.get("b")
    return a, b
