# print bindings with a print between them
# fix: unsafe
import redis


def main(r: redis.Redis):
    print(r.get("a"))
    print("sep")
    print(r.get("b"))
