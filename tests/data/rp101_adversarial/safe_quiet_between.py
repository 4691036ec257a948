# a plain assignment between the commands
# fix: safe
import redis


def main(r: redis.Redis):
    uid = 1
    name = r.get(f"user:{uid}:name")
    key = f"user:{uid}:email"
    email = r.get(key)
    return name, email
