-- Claim up to ARGV[1] jobs from the queues whose keys are passed, for ARGV[2] microseconds;
-- lease tokens are ARGV[3] .. ':' .. n. With a result store prefix in ARGV[4], each claimed job's
-- record (key ARGV[4] .. ':result:' .. id) is read too: a key the caller cannot name in advance,
-- so this part needs a standalone server (see docs/backends/redis.md, Cluster). First, when the
-- head of a queue's due set (or lease set) is due, its due jobs move to ready (its lapsed leases
-- return their jobs), earliest first and at most MOVE_CAP per set and call; the script is atomic,
-- so nothing moves twice. A queue whose own keys hold another type is left untouched and
-- reported; a job whose metadata, payload or record cannot be read goes to its queue's
-- quarantine hash (id -> reason), so one bad key never fails the script halfway (Redis would
-- keep what it had already moved).
-- Returns now, the lease expiry, microseconds until the next due job or lease expiry (-1 if
-- none; 0 when due jobs are left to move), the number of queues left untouched and why for
-- each, then 9 fields per claimed job: the queue's position among those passed, id, payload,
-- priority, attempts, deliveries, token, eta, and its record or false.
local MOVE_CAP = 1000
local n, lease_us, nonce, records = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3], ARGV[4]
local now = now_us()
local expires = now + lease_us
local queues, broken = {}, {}
for o = 0, #KEYS - 1, QUEUE_KEYS do
  local k = queue_keys(o)
  local wrong = mistyped(queue_types(k))
  if wrong then
    broken[#broken + 1] = wrong
  else
    k.position = o / QUEUE_KEYS
    queues[#queues + 1] = k
  end
end

local function quarantine(k, id, reason)
  redis.call('HSET', k.quarantine, id, reason)
  forget(k.meta, id)
  forget(k.payload, id)
end

-- The score of the first member of sorted set `key`; nil when it is empty.
local function head(key)
  local first = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  return first[2] and tonumber(first[2])
end

-- The first MOVE_CAP due entries of `key`, as {member, score, ...}, and their members.
local function due_in(key)
  local entries = redis.call('ZRANGEBYSCORE', key, '-inf', now, 'WITHSCORES', 'LIMIT', 0, MOVE_CAP)
  local members = {}
  for i = 1, #entries, 2 do
    members[#members + 1] = entries[i]
  end
  return entries, members
end

-- Due jobs move to ready, keeping their member (priority, sequence, id) and due time.
local function promote_due(k)
  local due, members = due_in(k.due)
  local ready = {}
  for i = 1, #due, 2 do
    local pr = tonumber(string.sub(due[i], 1, 1))
    if pr then
      ready[#ready + 1] = ready_score(pr, tonumber(due[i + 1]))
      ready[#ready + 1] = due[i]
    else
      quarantine(k, due[i], 'malformed due entry')
    end
  end
  if #ready > 0 then
    redis.call('ZADD', k.ready, unpack(ready))
  end
  redis.call('ZREM', k.due, unpack(members))
end

-- Jobs of lapsed leases return to ready, due at their lease expiry, their token cleared.
local function return_lapsed(k)
  local lapsed, ids = due_in(k.leased)
  for i = 1, #lapsed, 2 do
    local id = lapsed[i]
    local raw, err = read('HGET', k.meta, id)
    local meta = unpack_meta(raw)
    if err then
      quarantine(k, id, 'its metadata in ' .. k.meta .. ' cannot be read: ' .. err)
    elseif meta then
      redis.call('HSET', k.meta, id, pack_meta(meta.pr, meta.att, meta.dl, '', meta.eta))
      redis.call('ZADD', k.ready, ready_score(meta.pr, tonumber(lapsed[i + 1])), member(k, meta.pr, id))
    end
  end
  redis.call('ZREM', k.leased, unpack(ids))
end

for _, k in ipairs(queues) do
  k.next_due = head(k.due)
  if k.next_due and k.next_due <= now then
    promote_due(k)
    k.next_due = head(k.due)
  end
  k.next_expiry = head(k.leased)
  if k.next_expiry and k.next_expiry <= now then
    return_lapsed(k)
    k.next_expiry = head(k.leased)
  end
end

local out = {}
local claimed = 0

-- Lease the popped members of queue `k`: every read first, then the writes, none of which can fail.
local function take(k, members)
  local ids = {}
  for i, m in ipairs(members) do
    ids[i] = member_id(m)
  end
  local metas, meta_err = read('HMGET', k.meta, unpack(ids))
  local payloads, payload_err = read('HMGET', k.payload, unpack(ids))
  local metas_out, leases = {}, {}
  for i, id in ipairs(ids) do
    local record, record_err = false, nil
    if records ~= '' then
      record, record_err = read('GET', records .. ':result:' .. id)
    end
    local meta = metas and unpack_meta(metas[i])
    local payload = payloads and payloads[i]
    if meta_err then
      quarantine(k, id, 'its metadata in ' .. k.meta .. ' cannot be read: ' .. meta_err)
    elseif not meta then
      quarantine(k, id, 'unreadable job metadata')
    elseif payload_err then
      quarantine(k, id, 'its payload in ' .. k.payload .. ' cannot be read: ' .. payload_err)
    elseif not payload then
      quarantine(k, id, 'no payload')
    elseif record_err then
      quarantine(k, id, 'its record ' .. records .. ':result:' .. id .. ' cannot be read: ' .. record_err)
    else
      claimed = claimed + 1
      local token = nonce .. ':' .. claimed
      local dl = meta.dl + 1
      metas_out[#metas_out + 1] = id
      metas_out[#metas_out + 1] = pack_meta(meta.pr, meta.att, dl, token, meta.eta)
      leases[#leases + 1] = expires
      leases[#leases + 1] = id
      for _, v in ipairs({k.position, id, payload, meta.pr, meta.att, dl, token, meta.eta}) do
        out[#out + 1] = v
      end
      out[#out + 1] = record
    end
  end
  if #leases > 0 then
    redis.call('HSET', k.meta, unpack(metas_out))
    redis.call('ZADD', k.leased, unpack(leases))
    k.next_expiry = math.min(k.next_expiry or expires, expires)
  end
end

-- Pop by priority, due time, then sequence across the queues: all at once from the only queue
-- with jobs, else one head at a time.
while claimed < n do
  local best, best_m, best_s
  local with_jobs = 0
  for _, k in ipairs(queues) do
    if not k.empty then
      local first = {'', 0}
      if #queues > 1 then
        first = redis.call('ZRANGE', k.ready, 0, 0, 'WITHSCORES')
      end
      if first[1] then
        with_jobs = with_jobs + 1
        local s = tonumber(first[2])
        if not best or s < best_s or (s == best_s and first[1] < best_m) then
          best, best_m, best_s = k, first[1], s
        end
      else
        k.empty = true
      end
    end
  end
  if not best then
    break
  end
  local count = with_jobs == 1 and n - claimed or 1
  local popped = redis.call('ZPOPMIN', best.ready, count)
  if #popped < 2 * count then
    best.empty = true
  end
  local members = {}
  for i = 1, #popped, 2 do
    members[#members + 1] = popped[i]
  end
  if #members > 0 then
    take(best, members)
  end
end

local wait = -1
for _, k in ipairs(queues) do
  if not k.empty and redis.call('ZCARD', k.ready) > 0 then
    wake(k)
  else
    redis.call('DEL', k.wake)
  end
  for _, at in ipairs({k.next_due or false, k.next_expiry or false}) do
    if at then
      local w = math.max(at - now, 0)
      if wait < 0 or w < wait then
        wait = w
      end
    end
  end
end

local result = {us(now), us(expires), us(wait), #broken}
for _, why in ipairs(broken) do
  result[#result + 1] = why
end
for _, v in ipairs(out) do
  result[#result + 1] = v
end
return result
