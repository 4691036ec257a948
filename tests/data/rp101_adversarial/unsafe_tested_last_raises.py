# the last command is tested and its branch raises
# fix: unsafe
import redis


class Full(Exception):
    pass


def main(r: redis.Redis):
    name = r.get("a")
    if r.llen("l") >= 2:
        raise Full(name)
    return name
