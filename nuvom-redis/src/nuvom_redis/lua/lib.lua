-- Shared by the scripts: a script's source is the definitions of this file it uses, found by
-- name (see scripts.py, source), followed by its body. Each definition starts with a line
-- `local NAME` or `local function NAME` at the start of the line, and runs to the next one.
--
-- A queue is passed as one key, its base name P:{Q}: (at KEYS[o + 1]); the script names the
-- queue's keys from it (see keys.py), so they all share the base's hash tag and Cluster slot.
-- A result store passes its 9 index keys, then record keys.
-- Times are integer microseconds of Redis's own clock (TIME), never a worker's clock.
--
-- Redis does not roll back a script that fails halfway, so no script writes before a step that
-- can fail: each first checks that the keys it writes hold their own type (require_types), and
-- reads a key that may hold another type with `read`, never with redis.call.

local QUEUE_KEYS = 1

local function now_us()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000000 + tonumber(t[2])
end

-- The first of `expected` ({key, type} pairs) that holds another type, described; nil if none.
-- Type 'counter' is a string holding an integer (what INCR needs): the one encoding 'int' is
-- that, so a counter costs one command (no key: false), and TYPE only describes a wrong one.
local function mistyped(expected)
  for _, e in ipairs(expected) do
    if e[2] == 'counter' then
      local encoding = redis.call('OBJECT', 'ENCODING', e[1])
      if encoding and encoding ~= 'int' then
        local kind = redis.call('TYPE', e[1])['ok']
        if kind == 'string' then
          return e[1] .. ' holds a string that is not an integer, not a counter'
        end
        return e[1] .. ' holds a ' .. kind .. ', not a counter'
      end
    else
      local kind = redis.call('TYPE', e[1])['ok']
      if kind ~= 'none' and kind ~= e[2] then
        return e[1] .. ' holds a ' .. kind .. ', not a ' .. e[2]
      end
    end
  end
  return nil
end

-- Fail the script, which must not have written anything yet, if a key of `expected` is mistyped.
local function require_types(expected)
  local wrong = mistyped(expected)
  if wrong then
    error({err = 'WRONGTYPE ' .. wrong})
  end
end

-- A read that cannot fail the script: its reply, or false and the error.
local function read(...)
  local reply = redis.pcall(...)
  if type(reply) == 'table' and reply.err then
    return false, reply.err
  end
  return reply
end

-- The claim time a Cluster fence key keeps (see fence.lua); nil when it keeps none: absent, or
-- holding anything else, which the next SET of a claim time replaces.
local function fence_time(key)
  local stored = read('GET', key)
  return stored and tonumber(stored) or nil
end

-- Delete fields of a hash that may no longer be a hash (then there is nothing to delete).
local function forget(hash, ...)
  redis.pcall('HDEL', hash, ...)
end

-- Integer microseconds as exact text (tostring would round to 14 digits).
local function us(x)
  return string.format('%.0f', x)
end

-- A queue's ready jobs are one sorted set ordered by priority (0 first), then due time, then
-- sequence (the member). Score: priority * 1e13 + due time in milliseconds, the microseconds
-- kept as a fraction (a double keeps them to 1/64 ms at priority 9; closer due times fall back
-- to the sequence order). 1e13 ms is the year 2286; earlier than 1970 counts as 1970.
-- (Plain arithmetic: a table of the ten scores, built on every call, cost a send ~3 µs.)
local PRIORITY_STEP = 1e13

-- `pr`: a priority 0 to 9, as a number.
local function ready_score(pr, due_us)
  return pr * PRIORITY_STEP + math.min(math.max(due_us / 1000, 0), PRIORITY_STEP - 1)
end

-- The keys of the queue whose base name is `base`.
local function keys_of(base)
  return {
    ready = base .. 'ready', due = base .. 'due', leased = base .. 'leased', meta = base .. 'meta',
    payload = base .. 'payload', quarantine = base .. 'quarantine', seq = base .. 'seq', wake = base .. 'wake'
  }
end

local function queue_keys(o)
  return keys_of(KEYS[o + 1])
end

-- The keys of queue `k` its scripts write, with their types; `also` adds more.
local function queue_types(k, also)
  local expected = {
    {k.ready, 'zset'}, {k.due, 'zset'}, {k.leased, 'zset'}, {k.quarantine, 'hash'}, {k.seq, 'counter'},
    {k.wake, 'list'}
  }
  for _, e in ipairs(also or {}) do
    expected[#expected + 1] = e
  end
  return expected
end

-- The keys enqueue_job writes for the jobs in ARGV from `first` on (5 arguments each), with their
-- types, added to `also`: a send checks these few, not every key of the queue.
-- `step`: arguments from one job to the next (5 when omitted).
local function enqueue_types(k, first, also, step)
  local expected = also or {}
  for _, e in ipairs({{k.meta, 'hash'}, {k.payload, 'hash'}, {k.seq, 'counter'}, {k.wake, 'list'}}) do
    expected[#expected + 1] = e
  end
  local due = false
  for i = first, #ARGV, step or 5 do
    if not string.match(ARGV[i + 2], '^%d$') then
      error({err = 'ERR job ' .. ARGV[i] .. ' has priority ' .. ARGV[i + 2] .. '; allowed: 0 to 9'})
    end
    due = due or ARGV[i + 3] ~= ''
  end
  expected[#expected + 1] = {k.ready, 'zset'}
  if due then
    expected[#expected + 1] = {k.due, 'zset'}
  end
  return expected
end

-- Job metadata, one hash field per job: priority|attempts|deliveries|lease token|eta text.
local function pack_meta(pr, att, dl, token, eta)
  return pr .. '|' .. att .. '|' .. dl .. '|' .. token .. '|' .. eta
end

local function unpack_meta(s)
  if not s then
    return nil
  end
  local pr, att, dl, token, eta = string.match(s, '^(%d)|(%d+)|(%d+)|([^|]*)|(.*)$')
  if not pr then
    return nil
  end
  return {pr = tonumber(pr), att = tonumber(att), dl = tonumber(dl), token = token, eta = eta}
end

-- A ready or due member: the priority digit, 16 hex digits of a per-queue sequence (so equal
-- due times are claimed in enqueue order) and the job id.
local function member_at(pr, seq, id)
  return pr .. string.format('%016x', seq) .. id
end

local function member(k, pr, id)
  return member_at(pr, redis.call('INCR', k.seq), id)
end

local function member_id(m)
  return string.sub(m, 18)
end

-- One token on the queue's wake-up list lets a worker blocked in BLPOP look again.
local function wake(k)
  if redis.call('LLEN', k.wake) == 0 then
    redis.call('RPUSH', k.wake, '1')
  end
end

-- Make a job claimable at due_us: in the due set while in the future, else ready by due time.
local function place(k, pr, id, due_us, now)
  local m = member(k, pr, id)
  if due_us > now then
    redis.call('ZADD', k.due, due_us, m)
  else
    redis.call('ZADD', k.ready, ready_score(pr, due_us), m)
  end
end

-- Store a new job (id, payload, priority, eta text or '', attempts), due at its eta or now.
-- A job id already in the queue is left as it is (enqueue is idempotent per id).
local function enqueue_job(k, now, id, payload, pr, eta, att)
  if redis.call('HSETNX', k.meta, id, pack_meta(pr, att, 0, '', eta)) == 1 then
    redis.call('HSET', k.payload, id, payload)
    local due = now
    if eta ~= '' then
      due = tonumber(eta) * 1000000
    end
    place(k, tonumber(pr), id, due, now)
  end
end

-- The job's metadata if `token` still holds its lease (even past expiry, until re-claimed).
local function held(k, id, token)
  local meta = unpack_meta(redis.call('HGET', k.meta, id))
  if meta and token ~= '' and meta.token == token then
    return meta
  end
  return nil
end

-- Remove held jobs for good: one command per key for all of `ids`.
local function settle_acks(k, ids)
  redis.call('HDEL', k.meta, unpack(ids))
  forget(k.payload, unpack(ids))
  redis.call('ZREM', k.leased, unpack(ids))
end

-- Return a held job: due at retry_at (attempts + 1) or now (attempts kept); deliveries reset.
local function settle_nack(k, id, meta, retry_at, now)
  local att, due = meta.att, now
  if retry_at ~= '' then
    att = att + 1
    due = tonumber(retry_at) * 1000000
  end
  redis.call('ZREM', k.leased, id)
  redis.call('HSET', k.meta, id, pack_meta(meta.pr, att, 0, '', meta.eta))
  place(k, meta.pr, id, due, now)
  wake(k)
end

-- SET `key` to `value`, expiring at `expires_ms` (epoch milliseconds) or after `ttl_ms`, or
-- never when both are ''.
local function set_expiring(key, value, expires_ms, ttl_ms)
  if expires_ms ~= '' then
    redis.call('SET', key, value, 'PXAT', expires_ms)
  elseif ttl_ms ~= '' then
    redis.call('SET', key, value, 'PX', ttl_ms)
  else
    redis.call('SET', key, value)
  end
end

-- Store a result record under `key` (replacing whatever it holds, of any type). The result store's 9 index keys start at KEYS[r + 1]:
-- all records, expiry, then one per status. `a` holds id, blob, created_at, status position
-- (1..7), expires_at in ms or '', default ttl in ms or '', index bound.
local RESULT_INDEX_KEYS = 9

-- The result store's index keys starting at KEYS[r + 1], with their types.
local function index_types(r)
  local expected = {}
  for i = 1, RESULT_INDEX_KEYS do
    expected[i] = {KEYS[r + i], 'zset'}
  end
  return expected
end

-- The result indexes save_record writes for records of status position `status` (a number, or
-- a table whose keys are the positions; every status index when a record exists: `old`), with
-- their types, added to `also`.
local function record_types(r, status, old, also)
  local expected = also or {}
  local wanted = type(status) == 'table' and status or {[status] = true}
  expected[#expected + 1] = {KEYS[r + 1], 'zset'}
  expected[#expected + 1] = {KEYS[r + 2], 'zset'}
  for s = 1, 7 do
    if old or wanted[s] then
      expected[#expected + 1] = {KEYS[r + 2 + s], 'zset'}
    end
  end
  return expected
end

-- Add {score, member, ...} `entries` to `index`, then trim its oldest beyond `bound` entries (an
-- entry updated in place leaves the size as it was).
local function add_bounded(index, entries, bound)
  if redis.call('ZADD', index, unpack(entries)) > 0 then
    local size = redis.call('ZCARD', index)
    if size > bound then
      redis.call('ZREMRANGEBYRANK', index, 0, size - bound - 1)
    end
  end
end

-- `old`: whether `key` exists, when the caller has looked already (nil: look here).
local function save_record(key, r, a, old)
  local id, blob, created, status, expires_ms, ttl_ms = a[1], a[2], a[3], tonumber(a[4]), a[5], a[6]
  local bound = tonumber(a[7])
  if old == nil then
    old = redis.call('EXISTS', key) == 1
  end
  set_expiring(key, blob, expires_ms, ttl_ms)
  if expires_ms ~= '' then
    redis.call('ZADD', KEYS[r + 2], expires_ms, id)
  else
    redis.call('ZREM', KEYS[r + 2], id)
  end
  -- A new record is in no status index (list_jobs drops stale entries of expired records).
  if old then
    for s = 1, 7 do
      if s ~= status then
        redis.call('ZREM', KEYS[r + 2 + s], id)
      end
    end
  end
  for _, index in ipairs({KEYS[r + 1], KEYS[r + 2 + status]}) do
    add_bounded(index, {created, id}, bound)
  end
end

-- Store records as save_record does each, with one command per index for them all. `records`:
-- {key, arguments} pairs; of two with one id, the later is stored. A record may exist already,
-- so each id leaves every status index but its own (removing an id an index does not hold
-- changes nothing).
local function save_records(r, records)
  local expiring, timeless, everything, joining, leaving = {}, {}, {}, {}, {}
  for s = 1, 7 do
    joining[s], leaving[s] = {}, {}
  end
  local bound, seen = 0, {}
  for i = #records, 1, -1 do
    local key, a = records[i][1], records[i][2]
    local id, blob, created, status, expires_ms, ttl_ms = a[1], a[2], a[3], tonumber(a[4]), a[5], a[6]
    if not seen[id] then
      seen[id] = true
      bound = tonumber(a[7])
      set_expiring(key, blob, expires_ms, ttl_ms)
      if expires_ms ~= '' then
        expiring[#expiring + 1] = expires_ms
        expiring[#expiring + 1] = id
      else
        timeless[#timeless + 1] = id
      end
      everything[#everything + 1] = created
      everything[#everything + 1] = id
      for s = 1, 7 do
        if s == status then
          joining[s][#joining[s] + 1] = created
          joining[s][#joining[s] + 1] = id
        else
          leaving[s][#leaving[s] + 1] = id
        end
      end
    end
  end
  if #expiring > 0 then
    redis.call('ZADD', KEYS[r + 2], unpack(expiring))
  end
  if #timeless > 0 then
    redis.call('ZREM', KEYS[r + 2], unpack(timeless))
  end
  for s = 1, 7 do
    if #leaving[s] > 0 then
      redis.call('ZREM', KEYS[r + 2 + s], unpack(leaving[s]))
    end
  end
  if #everything > 0 then
    add_bounded(KEYS[r + 1], everything, bound)
  end
  for s = 1, 7 do
    if #joining[s] > 0 then
      add_bounded(KEYS[r + 2 + s], joining[s], bound)
    end
  end
end
