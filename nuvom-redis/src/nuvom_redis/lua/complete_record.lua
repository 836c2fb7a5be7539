-- The records' half of a fenced completion on a Redis Cluster (the queue's half is ack or nack):
-- store each job's record unless a newer claim of the job is on record. KEYS: the result store's
-- 9 index keys, then per job its record key and its fence key. ARGV: per job the claim time of
-- its lease (the fence), then the 7 record arguments of save_record. The fence key takes the
-- record's expiry. Returns one 1 (stored) or 0 (a newer claim exists: nothing written) per job.
-- A fence key that keeps no claim time (another type, or text) counts as absent and is replaced.
require_types(index_types(0))
local stored = {}
for i = 1, (#KEYS - RESULT_INDEX_KEYS) / 2 do
  local o = RESULT_INDEX_KEYS + (i - 1) * 2
  local a = (i - 1) * 8
  local fence = ARGV[a + 1]
  local newest = fence_time(KEYS[o + 2])
  if newest and newest > tonumber(fence) then
    stored[i] = 0
  else
    local record = {ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], ARGV[a + 5], ARGV[a + 6], ARGV[a + 7], ARGV[a + 8]}
    save_record(KEYS[o + 1], 0, record)
    set_expiring(KEYS[o + 2], fence, record[5], record[6])
    stored[i] = 1
  end
end
return stored
