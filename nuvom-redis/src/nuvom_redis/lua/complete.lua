-- Fenced completion of many jobs in one atomic call. For each job whose lease its token still
-- holds, store its result record and ack the job (retry_at '') or nack it due at retry_at; a job
-- whose lease was lost gets nothing written. KEYS: the result store's 9 index keys, then per job
-- its queue's base and its record key. ARGV: per job id, token, retry_at, then the 7 record
-- arguments of save_record. Returns one 1 (applied) or 0 (lease lost) per job.
-- Every key checked before the first write: one wrong-typed key fails the whole call unapplied.
require_types(index_types(0))
local checked = {}
for o = RESULT_INDEX_KEYS, #KEYS - 1, 2 do
  if not checked[KEYS[o + 1]] then
    local k = queue_keys(o)
    require_types(queue_types(k, {{k.meta, 'hash'}}))
    checked[KEYS[o + 1]] = true
  end
end
local applied = {}
local now = now_us()
for i = 1, (#KEYS - RESULT_INDEX_KEYS) / 2 do
  local o = RESULT_INDEX_KEYS + (i - 1) * 2
  local a = (i - 1) * 10
  local k = queue_keys(o)
  local id, token, retry_at = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3]
  local meta = held(k, id, token)
  if meta then
    local record = {ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8], ARGV[a + 9], ARGV[a + 10]}
    save_record(KEYS[o + 2], 0, record)
    if retry_at == '' then
      settle_ack(k, id)
    else
      settle_nack(k, id, meta, retry_at, now)
    end
    applied[i] = 1
  else
    applied[i] = 0
  end
end
return applied
