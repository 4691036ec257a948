# augmented assignments in order
# fix: safe
import redis


def main(r: redis.Redis):
    total = 0
    total += int(r.get("a"))
    total *= int(r.get("n"))
    return total
