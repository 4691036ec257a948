# print bindings, the second command fails
# fix: safe
import redis


def main(r: redis.Redis):
    print(r.get("a"))
    print(r.get("h"))
