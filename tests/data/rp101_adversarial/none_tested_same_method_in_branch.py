# the tested command's method is called again in the branch: the test's command is not
# unambiguous in the statement
# fix: none
import redis


def main(r: redis.Redis):
    a = r.get("a")
    if r.get("b") == "2":
        return a, r.get("c")
    return a
