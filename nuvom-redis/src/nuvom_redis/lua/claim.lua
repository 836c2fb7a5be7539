-- Claim up to ARGV[1] jobs from the queues whose keys are passed, for ARGV[2] microseconds;
-- lease tokens are ARGV[3] .. ':' .. n. With a result store prefix in ARGV[4], each claimed job's
-- record (key ARGV[4] .. ':result:' .. id) is read too: a key the caller cannot name in advance,
-- so this part needs a standalone server (see docs/backends/redis.md, Cluster). First, every due job moves to ready and every expired
-- lease returns its job, all at once (no cap; the script is atomic, so nothing moves twice).
-- A queue whose own keys hold another type is left untouched and reported; a job whose metadata,
-- payload or record cannot be read goes to its queue's quarantine hash (id -> reason), so one bad
-- key never fails the script halfway (Redis would keep what it had already moved).
-- Returns now, the lease expiry, microseconds until the next due job or lease expiry (-1 if
-- none), the number of queues left untouched and why for each, then 9 fields per claimed job:
-- the queue's position among those passed, id, payload, priority, attempts, deliveries, token,
-- eta, and its record or false.
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

for _, k in ipairs(queues) do
  local due = redis.call('ZRANGEBYSCORE', k.due, '-inf', now, 'WITHSCORES')
  for i = 1, #due, 2 do
    local pr = tonumber(string.sub(due[i], 1, 1))
    if pr then
      redis.call('ZADD', k.ready[pr], due[i + 1], due[i])
    else
      quarantine(k, due[i], 'malformed due entry')
    end
  end
  if #due > 0 then
    redis.call('ZREMRANGEBYSCORE', k.due, '-inf', now)
  end
  local lapsed = redis.call('ZRANGEBYSCORE', k.leased, '-inf', now, 'WITHSCORES')
  for i = 1, #lapsed, 2 do
    local id = lapsed[i]
    local raw, err = read('HGET', k.meta, id)
    local meta = unpack_meta(raw)
    if err then
      quarantine(k, id, 'its metadata in ' .. k.meta .. ' cannot be read: ' .. err)
    elseif meta then
      redis.call('HSET', k.meta, id, pack_meta(meta.pr, meta.att, meta.dl, '', meta.eta))
      redis.call('ZADD', k.ready[meta.pr], lapsed[i + 1], member(k, meta.pr, id))
    end
  end
  if #lapsed > 0 then
    redis.call('ZREMRANGEBYSCORE', k.leased, '-inf', now)
  end
end

local out = {}
local claimed = 0

-- Lease one popped job: every read first, then the writes, none of which can fail.
local function take(k, m)
  local id = member_id(m)
  local raw, meta_err = read('HGET', k.meta, id)
  local payload, payload_err = read('HGET', k.payload, id)
  local record, record_err = false, nil
  if records ~= '' then
    record, record_err = read('GET', records .. ':result:' .. id)
  end
  local meta = unpack_meta(raw)
  if meta_err then
    quarantine(k, id, 'its metadata in ' .. k.meta .. ' cannot be read: ' .. meta_err)
    return
  end
  if not meta then
    quarantine(k, id, 'unreadable job metadata')
    return
  end
  if payload_err then
    quarantine(k, id, 'its payload in ' .. k.payload .. ' cannot be read: ' .. payload_err)
    return
  end
  if not payload then
    quarantine(k, id, 'no payload')
    return
  end
  if record_err then
    quarantine(k, id, 'its record ' .. records .. ':result:' .. id .. ' cannot be read: ' .. record_err)
    return
  end
  claimed = claimed + 1
  local token = nonce .. ':' .. claimed
  local dl = meta.dl + 1
  redis.call('HSET', k.meta, id, pack_meta(meta.pr, meta.att, dl, token, meta.eta))
  redis.call('ZADD', k.leased, expires, id)
  for _, v in ipairs({k.position, id, payload, meta.pr, meta.att, dl, token, meta.eta}) do
    out[#out + 1] = v
  end
  out[#out + 1] = record
end

local p = 0
while claimed < n and p <= 9 do
  -- The head of priority p across the asked queues, by due time then sequence.
  local best, best_m, best_s
  local with_jobs = 0
  for _, k in ipairs(queues) do
    local head = redis.call('ZRANGE', k.ready[p], 0, 0, 'WITHSCORES')
    if head[1] then
      with_jobs = with_jobs + 1
      local s = tonumber(head[2])
      if not best or s < best_s or (s == best_s and head[1] < best_m) then
        best, best_m, best_s = k, head[1], s
      end
    end
  end
  if not best then
    p = p + 1
  elseif with_jobs == 1 then
    local popped = redis.call('ZPOPMIN', best.ready[p], n - claimed)
    for i = 1, #popped, 2 do
      take(best, popped[i])
    end
  else
    redis.call('ZREM', best.ready[p], best_m)
    take(best, best_m)
  end
end

local wait = -1
for _, k in ipairs(queues) do
  local left = 0
  for q = 0, 9 do
    left = redis.call('ZCARD', k.ready[q])
    if left > 0 then
      break
    end
  end
  if left > 0 then
    wake(k)
  else
    redis.call('DEL', k.wake)
  end
  for _, key in ipairs({k.due, k.leased}) do
    local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if head[1] then
      local w = tonumber(head[2]) - now
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
