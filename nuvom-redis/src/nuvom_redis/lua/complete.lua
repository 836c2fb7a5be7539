-- Fenced completion of many jobs in one atomic call. For each job whose lease its token still
-- holds, store its result record and ack the job (retry_at '') or nack it due at retry_at; a job
-- whose lease was lost gets nothing written. KEYS: the result store's 9 index keys, then per job
-- its queue's base and its record key. ARGV: per job id, token, retry_at, then the 7 record
-- arguments of save_record. Returns one 1 (applied) or 0 (lease lost) per job.
-- Every key checked before the first write: one wrong-typed key fails the whole call unapplied.
-- The records are written at the end, then the acks, one command per key for the whole batch.
require_types(index_types(0))
local jobs = (#KEYS - RESULT_INDEX_KEYS) / 2
local queues, nacking = {}, {}
for i = 1, jobs do
  local base = KEYS[RESULT_INDEX_KEYS + (i - 1) * 2 + 1]
  queues[base] = queues[base] or keys_of(base)
  nacking[base] = nacking[base] or ARGV[(i - 1) * 10 + 3] ~= ''
end
for base, k in pairs(queues) do
  if nacking[base] then
    require_types(queue_types(k, {{k.meta, 'hash'}}))
  else
    require_types({{k.meta, 'hash'}, {k.leased, 'zset'}})
  end
end
local applied, saved, acked, settled = {}, {}, {}, {}
local now = now_us()
for i = 1, jobs do
  local o = RESULT_INDEX_KEYS + (i - 1) * 2
  local a = (i - 1) * 10
  local base = KEYS[o + 1]
  local k = queues[base]
  local id, token, retry_at = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  -- a job settled earlier in this call is not held any more (its ack is written below)
  local meta = not settled[base .. id] and held(k, id, token)
  if meta then
    local record = {ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]}
    saved[#saved + 1] = {KEYS[o + 2], record}
    if retry_at == '' then
      acked[base] = acked[base] or {}
      table.insert(acked[base], id)
      settled[base .. id] = true
    else
      settle_nack(k, id, meta, retry_at, now)
    end
    applied[i] = 1
  else
    applied[i] = 0
  end
end
save_records(0, saved)
for base, ids in pairs(acked) do
  settle_acks(queues[base], ids)
end
return applied
