# a consumer that fails (len() of None): the later write was not sent originally
# fix: unsafe
import redis


def main(r: redis.Redis):
    text = r.get("missing")
    size = len(text)
    r.set("seen", 1)
    return size
