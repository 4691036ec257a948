"""The pipelined task queue: the seed guide's recommendations, applied.

Every operation is one round trip (one EVALSHA or one pipeline), except ``claim``, which
needs two (three at most once per ``reap_interval`` per queue):

* ``enqueue``: one script (idempotency check, task record, pending list or delayed set).
* ``claim``: one script promotes due delayed tasks, pops the highest priority across
  all ten pending lists, fetches the task inline and records the claim (task update,
  ``inprog``, the lease index ``leases``) atomically.  Then a second, tiny script
  writes the lease key (``SET lease:<id> worker NX PX``) if the task record still shows
  this very claim (status, worker, attempts).  The first script cannot write it: its
  name depends on the popped id, and every key a script touches must be declared in
  KEYS (cluster rule, see the Redis EVAL docs).  The window is harmless: the reaper only
  looks at tasks whose *index* score (set by the script to now + lease) has passed, so a
  live worker gets its whole lease to write the key, and a worker that dies in between
  simply lets the lease expire.  The record check covers a worker that stalls past its
  whole lease between the two calls: if the task was reaped (and maybe re-claimed)
  meanwhile, the stale claim is dropped and the worker claims the next task.  When the claim script wins the reap throttle
  (``SET reap NX PX``) and the lease index has due entries, it returns their ids
  instead of popping; the client reruns the script in "reap" mode with those ids' lease
  keys in KEYS, which re-checks each one atomically (still in ``inprog``, index score
  passed, lease key gone), requeues or dead-letters it, then pops.
* ``heartbeat``: one multi-key script renews every lease the worker owns (PEXPIRE the
  lease key, move its index entry, update ``lease_until``).
* ``nack``, ``submit``, ``submit_many``: one atomic script each (owner check, result,
  task update, ``inprog``/index/lease cleanup, backoff or dead-letter).
* ``get`` and ``stats``: one non-transactional pipeline (read-only, same slot).

Scripts are registered once per queue with ``register_script`` and run by SHA
(EVALSHA, reloaded automatically on NOSCRIPT).  All keys passed to a script share the
queue's ``{q:NAME}`` hash tag, so the queue runs unchanged on Redis Cluster.

Lua decodes and re-encodes task records with cjson; see :mod:`pipelint.queue.base` for
why ``payload`` and ``extra`` are stored as opaque JSON text.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

from pipelint.queue.base import (
    QueueBase,
    RedisClient,
    Task,
    check_priority,
    check_status,
    new_task,
    now,
    task_from_record,
    task_to_record,
    text,
    to_ms,
)

__all__ = ["PipelinedQueue"]

# Helpers shared by the scripts.  ``T`` is the tasks hash key, set by each script.
_LUA_PRELUDE = """
local T
local function load(id)
  local raw = redis.call('HGET', T, id)
  if not raw then return nil end
  return cjson.decode(raw)
end
local function save(id, t)
  local raw = cjson.encode(t)
  redis.call('HSET', T, id, raw)
  return raw
end
"""

# KEYS: tasks, pending:<p>, delayed, results [, idem]
# ARGV: id, record, visible_at ('' = ready now), idem_ttl_ms
_ENQUEUE = (
    _LUA_PRELUDE
    + """
T = KEYS[1]
local id = ARGV[1]
if #KEYS >= 5 then
  if not redis.call('SET', KEYS[5], id, 'NX', 'PX', ARGV[4]) then
    local existing = redis.call('GET', KEYS[5])
    local raw = redis.call('HGET', T, existing)
    if raw then
      return {existing, raw, redis.call('HGET', KEYS[4], existing)}
    end
    redis.call('SET', KEYS[5], id, 'PX', ARGV[4])
  end
end
redis.call('HSET', T, id, ARGV[2])
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[3], ARGV[3], id)
else
  redis.call('LPUSH', KEYS[2], id)
end
return false
"""
)

# KEYS: 1 tasks, 2 inprog, 3 leases, 4 delayed, 5 reap, 6 dlq, 7..16 pending:0..9,
#       17.. lease:<candidate> (reap mode only)
# ARGV: 1 worker, 2 now, 3 lease_ms, 4 reap_interval_ms, 5 promote_batch, 6 reap_batch,
#       7 mode ('claim' | 'reap'), 8.. candidate ids (reap mode only)
_CLAIM = (
    _LUA_PRELUDE
    + """
T = KEYS[1]
local worker, now, lease_ms = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local reap_ms, mode = tonumber(ARGV[4]), ARGV[7]

if mode == 'claim' then
  -- move due delayed tasks to their pending list
  local due = redis.call('ZRANGEBYSCORE', KEYS[4], '-inf', now, 'LIMIT', 0, tonumber(ARGV[5]))
  for _, id in ipairs(due) do
    redis.call('ZREM', KEYS[4], id)
    local t = load(id)
    if t then
      t.status = 'pending'
      save(id, t)
      redis.call('LPUSH', KEYS[7 + t.priority], id)
    end
  end
  -- at most once per reap interval: hand due lease-index entries back to the client
  if reap_ms <= 0 or redis.call('SET', KEYS[5], worker, 'NX', 'PX', reap_ms) then
    local cands = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0,
                             tonumber(ARGV[6]))
    if #cands > 0 then
      table.insert(cands, 1, 'reap')
      return cands
    end
  end
else
  -- reap mode: requeue candidates whose lease really expired (re-checked atomically)
  for i = 8, #ARGV do
    local id, lkey = ARGV[i], KEYS[9 + i]
    local score = redis.call('ZSCORE', KEYS[3], id)
    if score and tonumber(score) <= now then
      if redis.call('SISMEMBER', KEYS[2], id) == 0 then
        redis.call('ZREM', KEYS[3], id)
      elseif redis.call('EXISTS', lkey) == 1 then
        local pttl = redis.call('PTTL', lkey)
        if pttl < 0 then pttl = lease_ms end
        redis.call('ZADD', KEYS[3], now + pttl / 1000, id)
      else
        redis.call('SREM', KEYS[2], id)
        redis.call('ZREM', KEYS[3], id)
        local t = load(id)
        if t then
          t.worker_id = cjson.null
          t.lease_until = cjson.null
          t.error = 'lease expired'
          if t.attempts >= t.max_attempts then
            t.status = 'dead'
            save(id, t)
            redis.call('SADD', KEYS[6], id)
          else
            t.status = 'pending'
            save(id, t)
            redis.call('RPUSH', KEYS[7 + t.priority], id)
          end
        end
      end
    end
  end
end

-- pop the highest priority first (9 .. 0) and record the claim
for p = 9, 0, -1 do
  local id = redis.call('RPOP', KEYS[7 + p])
  while id do
    local t = load(id)
    if t then
      local lease_until = now + lease_ms / 1000
      t.status = 'in_progress'
      t.attempts = t.attempts + 1
      t.worker_id = worker
      t.lease_until = lease_until
      local raw = save(id, t)
      redis.call('SADD', KEYS[2], id)
      redis.call('ZADD', KEYS[3], lease_until, id)
      return {'task', raw}
    end
    id = redis.call('RPOP', KEYS[7 + p])
  end
end
return false
"""
)

# KEYS: 1 tasks, 2 lease:<id>
# ARGV: 1 id, 2 worker, 3 attempts, 4 lease_ms
_LEASE = (
    _LUA_PRELUDE
    + """
T = KEYS[1]
local t = load(ARGV[1])
if not t or t.status ~= 'in_progress' or t.worker_id ~= ARGV[2]
   or t.attempts ~= tonumber(ARGV[3]) then
  return 0
end
if redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[4]) then return 1 end
return 0
"""
)

# KEYS: 1 tasks, 2 leases, 3.. lease:<id>
# ARGV: 1 worker, 2 extend_ms, 3 now, 4.. ids
_HEARTBEAT = (
    _LUA_PRELUDE
    + """
T = KEYS[1]
local worker, ms, now = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3])
local lease_until = now + ms / 1000
local n = 0
for i = 4, #ARGV do
  local id, lkey = ARGV[i], KEYS[i - 1]
  if redis.call('GET', lkey) == worker then
    redis.call('PEXPIRE', lkey, ms)
    redis.call('ZADD', KEYS[2], lease_until, id)
    local t = load(id)
    if t then
      t.lease_until = lease_until
      save(id, t)
    end
    n = n + 1
  end
end
return n
"""
)

# KEYS: 1 tasks, 2 inprog, 3 leases, 4 delayed, 5 dlq, 6 lease:<id>, 7..16 pending:0..9
# ARGV: 1 id, 2 worker, 3 now, 4 delay ('' = backoff), 5 base, 6 cap, 7 reason
_NACK = (
    _LUA_PRELUDE
    + """
T = KEYS[1]
local id, worker, now = ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('GET', KEYS[6]) ~= worker then return 0 end
local t = load(id)
if not t then return 0 end
redis.call('DEL', KEYS[6])
redis.call('SREM', KEYS[2], id)
redis.call('ZREM', KEYS[3], id)
t.worker_id = cjson.null
t.lease_until = cjson.null
if ARGV[7] ~= '' then t.error = ARGV[7] end
if t.attempts >= t.max_attempts then
  t.status = 'dead'
  redis.call('SADD', KEYS[5], id)
else
  local delay
  if ARGV[4] == '' then
    delay = math.min(tonumber(ARGV[6]), tonumber(ARGV[5]) * 2 ^ math.max(0, t.attempts - 1))
  else
    delay = tonumber(ARGV[4])
  end
  if delay > 0 then
    t.status = 'delayed'
    redis.call('ZADD', KEYS[4], now + delay, id)
  else
    t.status = 'pending'
    redis.call('LPUSH', KEYS[7 + t.priority], id)
  end
end
save(id, t)
return 1
"""
)

# KEYS: 1 tasks, 2 inprog, 3 leases, 4 results, 5.. lease:<id>
# ARGV: 1 worker, 2 status, then pairs (id, result json)
_SUBMIT = (
    _LUA_PRELUDE
    + """
T = KEYS[1]
local worker, status = ARGV[1], ARGV[2]
local n = 0
for i = 3, #ARGV, 2 do
  local id, lkey = ARGV[i], KEYS[5 + (i - 3) / 2]
  if redis.call('GET', lkey) == worker then
    local t = load(id)
    if t then
      t.status = status
      t.lease_until = cjson.null
      save(id, t)
      redis.call('HSET', KEYS[4], id, ARGV[i + 1])
      redis.call('SREM', KEYS[2], id)
      redis.call('ZREM', KEYS[3], id)
      redis.call('DEL', lkey)
      n = n + 1
    end
  end
end
return n
"""
)

_SUBMIT_BATCH = 500
"""Largest number of tasks one ``submit_many`` script call handles."""


class PipelinedQueue(QueueBase):
    """Task queue with one round trip per operation (two for ``claim``).

    ``client`` is a sync ``redis.Redis`` or ``redis.cluster.RedisCluster``; the keys of
    queue ``name`` are ``f"{prefix}{{q:{name}}}:..."``.
    """

    def __init__(self, client: RedisClient, name: str, **options: Any) -> None:
        """``options``: ``prefix`` and the tunables of :class:`~pipelint.queue.base.QueueBase`."""
        super().__init__(client, name, **options)
        self._enqueue = client.register_script(_ENQUEUE)
        self._claim = client.register_script(_CLAIM)
        self._lease = client.register_script(_LEASE)
        self._heartbeat = client.register_script(_HEARTBEAT)
        self._nack = client.register_script(_NACK)
        self._submit = client.register_script(_SUBMIT)
        k = self.keys
        self._claim_keys = [k.tasks, k.inprog, k.leases, k.delayed, k.reap, k.dlq, *k.all_pending]
        self._nack_keys = [k.tasks, k.inprog, k.leases, k.delayed, k.dlq]
        self._submit_keys = [k.tasks, k.inprog, k.leases, k.results]

    def enqueue(
        self,
        payload: Any,
        priority: int = 5,
        delay: float = 0,
        max_attempts: int = 5,
        idempotency_key: str | None = None,
    ) -> Task:
        check_priority(priority)
        task = new_task(uuid.uuid4().hex, payload, priority, delay, max_attempts)
        keys = [self.keys.tasks, self.keys.pending(priority), self.keys.delayed, self.keys.results]
        if idempotency_key is not None:
            keys.append(self.keys.idem(idempotency_key))
        visible_at = f"{task.created_at + delay:.6f}" if delay > 0 else ""
        args = [task.id, task_to_record(task), visible_at, to_ms(self.options.idempotency_ttl)]
        existing = self._enqueue(keys=keys, args=args)
        if existing:
            return task_from_record(existing[1], existing[2])
        return task

    def claim(self, worker_id: str, lease_seconds: float) -> Task | None:
        lease_ms = to_ms(lease_seconds)
        reap_ms = to_ms(self.options.reap_interval) if self.options.reap_interval > 0 else 0
        common = [worker_id, "", lease_ms, reap_ms, self.options.promote_batch]
        for _attempt in range(3):
            common[1] = f"{now():.6f}"
            reply = self._claim(
                keys=self._claim_keys, args=[*common, self.options.reap_batch, "claim"]
            )
            if reply and text(reply[0]) == "reap":
                ids = [str(text(i)) for i in reply[1:]]
                common[1] = f"{now():.6f}"
                reply = self._claim(
                    keys=[*self._claim_keys, *(self.keys.lease(i) for i in ids)],
                    args=[*common, self.options.reap_batch, "reap", *ids],
                )
            if not reply:
                return None
            task = task_from_record(reply[1])
            # Refused only if we stalled past the whole lease and the task was reaped
            # (and maybe re-claimed) meanwhile: drop this claim, take the next task.
            leased = self._lease(
                keys=[self.keys.tasks, self.keys.lease(task.id)],
                args=[task.id, worker_id, task.attempts, lease_ms],
            )
            if leased:
                return task
        return None

    def heartbeat(self, worker_id: str, task_ids: list[str], extend_seconds: float) -> int:
        if not task_ids:
            return 0
        keys = [self.keys.tasks, self.keys.leases, *(self.keys.lease(i) for i in task_ids)]
        args = [worker_id, to_ms(extend_seconds), f"{now():.6f}", *task_ids]
        return int(self._heartbeat(keys=keys, args=args))

    def nack(
        self, task_id: str, worker_id: str, delay: float | None = None, reason: str = ""
    ) -> bool:
        keys = [*self._nack_keys, self.keys.lease(task_id), *self.keys.all_pending]
        args = [
            task_id,
            worker_id,
            f"{now():.6f}",
            "" if delay is None else f"{max(0.0, delay):.6f}",
            repr(float(self.options.backoff_base)),
            repr(float(self.options.backoff_cap)),
            reason,
        ]
        return bool(self._nack(keys=keys, args=args))

    def submit(self, task_id: str, worker_id: str, result: Any, status: str = "completed") -> bool:
        return self._submit_batch(worker_id, [(task_id, result)], status) == 1

    def submit_many(self, worker_id: str, items: list[tuple[str, Any]]) -> int:
        done = 0
        for start in range(0, len(items), _SUBMIT_BATCH):
            done += self._submit_batch(worker_id, items[start : start + _SUBMIT_BATCH])
        return done

    def _submit_batch(
        self, worker_id: str, items: list[tuple[str, Any]], status: str = "completed"
    ) -> int:
        check_status(status)
        if not items:
            return 0
        keys = [*self._submit_keys, *(self.keys.lease(task_id) for task_id, _ in items)]
        args: list[str] = [worker_id, status]
        for task_id, result in items:
            args += [task_id, json.dumps(result, separators=(",", ":"))]
        return int(self._submit(keys=keys, args=args))

    def get(self, task_id: str) -> Task | None:
        with self.client.pipeline(transaction=False) as pipe:
            pipe.hget(self.keys.tasks, task_id)
            pipe.hget(self.keys.results, task_id)
            raw, result = pipe.execute()
        if raw is None:
            return None
        return task_from_record(raw, result)

    def stats(self) -> dict[str, int]:
        k = self.keys
        with self.client.pipeline(transaction=False) as pipe:
            for key in k.all_pending:
                pipe.llen(key)
            pipe.zcard(k.delayed)
            pipe.scard(k.inprog)
            pipe.scard(k.dlq)
            pipe.hlen(k.tasks)
            pipe.hlen(k.results)
            replies = [int(x) for x in pipe.execute()]
        per_priority = replies[:10]
        delayed, inprog, dead, total, results = replies[10:]
        out = {f"pending:{p}": n for p, n in enumerate(per_priority)}
        out.update(
            pending=sum(per_priority),
            delayed=delayed,
            in_progress=inprog,
            dead=dead,
            total=total,
            results=results,
        )
        return out
