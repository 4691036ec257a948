# plain reads into local names
# fix: safe
import redis


def main(r: redis.Redis):
    uid = 1
    name = r.get(f"user:{uid}:name")
    email = r.get(f"user:{uid}:email")
    return name, email
