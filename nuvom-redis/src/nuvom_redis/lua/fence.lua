-- Record the claims of jobs on a Redis Cluster, where a queue's slot and the records' slot differ,
-- and read the claimed jobs' records. KEYS: per job its fence key, then its record key. ARGV: per
-- job the claim's time (microseconds of its queue shard's clock). Each fence key keeps the
-- newest claim's time: an older time never replaces a newer one. Returns per job its record, or
-- false when there is none, it cannot be read, or a newer claim is recorded (this one is stale).
-- Once a claim is recorded, no older claim's completion can store a record (complete_record), so
-- the record read here is the one the claimer works from, as if read with the claim. A fence key
-- that keeps no claim time (another type, or text) counts as absent and is replaced.
local records = {}
for i = 1, #KEYS / 2 do
  local fence, claimed = KEYS[2 * i - 1], tonumber(ARGV[i])
  local newest = fence_time(fence)
  if newest and newest > claimed then
    records[i] = false
  else
    if not newest or newest < claimed then
      redis.call('SET', fence, ARGV[i], 'KEEPTTL')
    end
    records[i] = read('GET', KEYS[2 * i]) or false
  end
end
return records
