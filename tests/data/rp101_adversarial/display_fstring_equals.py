# f-string = specifier prints the command text
# fix: display-only
import redis


def main(r: redis.Redis):
    s = f"{r.get('a')=}"
    t = f"{r.get('b')=}"
    return s, t
