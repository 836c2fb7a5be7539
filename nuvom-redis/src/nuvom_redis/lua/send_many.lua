-- Send jobs of one queue with their queued records in one call: what save_record then
-- enqueue_job do for each job, with one command per index and sorted set for the whole batch
-- instead of one per job. KEYS: the queue's base, the result store's 9 index keys, then one
-- record key per job. ARGV: per job the 7 record arguments of save_record, then the job's id,
-- payload, priority, eta text or '' and attempts (12 per job; at most a few thousand jobs).
-- Returns the Redis time (µs, as text) the jobs were queued at, which withdraw.lua takes.
local k = queue_keys(0)
local r = QUEUE_KEYS
local first_record = r + RESULT_INDEX_KEYS + 1
local n = #KEYS - first_record + 1
local argv = ARGV
local function arg(j, f)
  return argv[(j - 1) * 12 + f]
end

local statuses = {}
for j = 1, n do
  statuses[tonumber(arg(j, 4))] = true
end
local old = redis.call('EXISTS', unpack(KEYS, first_record)) > 0
require_types(record_types(r, statuses, old, enqueue_types(k, 8, nil, 12)))
local now = now_us()

if old then
  -- a record is replaced (a job id sent again): the general path, one job at a time
  for j = 1, n do
    local a = {arg(j, 1), arg(j, 2), arg(j, 3), arg(j, 4), arg(j, 5), arg(j, 6), arg(j, 7)}
    save_record(KEYS[first_record + j - 1], r, a)
    enqueue_job(k, now, arg(j, 8), arg(j, 9), arg(j, 10), arg(j, 11), arg(j, 12))
  end
  wake(k)
  return us(now)
end

-- The records: none exists, so no status index holds their ids.
local plain, timeless, everything, by_status = {}, {}, {}, {}
local expiring = {}
for j = 1, n do
  local key, id, blob, created = KEYS[first_record + j - 1], arg(j, 1), arg(j, 2), arg(j, 3)
  local status, expires_ms, ttl_ms = tonumber(arg(j, 4)), arg(j, 5), arg(j, 6)
  if expires_ms ~= '' then
    redis.call('SET', key, blob, 'PXAT', expires_ms)
    expiring[#expiring + 1] = expires_ms
    expiring[#expiring + 1] = id
  else
    if ttl_ms ~= '' then
      redis.call('SET', key, blob, 'PX', ttl_ms)
    else
      plain[#plain + 1] = key
      plain[#plain + 1] = blob
    end
    timeless[#timeless + 1] = id
  end
  everything[#everything + 1] = created
  everything[#everything + 1] = id
  local entries = by_status[status] or {}
  by_status[status] = entries
  entries[#entries + 1] = created
  entries[#entries + 1] = id
end
if #plain > 0 then
  redis.call('MSET', unpack(plain))
end
if #expiring > 0 then
  redis.call('ZADD', KEYS[r + 2], unpack(expiring))
end
if #timeless > 0 then
  redis.call('ZREM', KEYS[r + 2], unpack(timeless))
end
local bound = tonumber(arg(1, 7))
add_bounded(KEYS[r + 1], everything, bound)
for s, entries in pairs(by_status) do
  add_bounded(KEYS[r + 2 + s], entries, bound)
end

-- The jobs: a job id already queued (or twice in this batch) is left as it is.
local ids = {}
for j = 1, n do
  ids[j] = arg(j, 8)
end
local queued = redis.call('HMGET', k.meta, unpack(ids))
local fresh, seen = {}, {}
for j = 1, n do
  if not queued[j] and not seen[ids[j]] then
    seen[ids[j]] = true
    fresh[#fresh + 1] = j
  end
end
if #fresh > 0 then
  local seq = redis.call('INCRBY', k.seq, #fresh) - #fresh
  local metas, payloads, placed = {}, {}, {}
  for i, j in ipairs(fresh) do
    local id, pr, eta = arg(j, 8), tonumber(arg(j, 10)), arg(j, 11)
    metas[#metas + 1] = id
    metas[#metas + 1] = pack_meta(pr, arg(j, 12), 0, '', eta)
    payloads[#payloads + 1] = id
    payloads[#payloads + 1] = arg(j, 9)
    local due = now
    if eta ~= '' then
      due = tonumber(eta) * 1000000
    end
    local set, score = k.ready, ready_score(pr, due)
    if due > now then
      set, score = k.due, due
    end
    placed[set] = placed[set] or {}
    placed[set][#placed[set] + 1] = score
    placed[set][#placed[set] + 1] = member_at(pr, seq + i, id)
  end
  redis.call('HSET', k.meta, unpack(metas))
  redis.call('HSET', k.payload, unpack(payloads))
  for set, members in pairs(placed) do
    redis.call('ZADD', set, unpack(members))
  end
end
wake(k)
return us(now)
