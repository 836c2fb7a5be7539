-- The queue's half of a fenced completion on a Redis Cluster (after complete_record): for each
-- job of one queue whose lease its token still holds, ack it (retry_at '') or nack it due at
-- retry_at. ARGV: per job id, token, retry_at. Returns one 1 (settled) or 0 (lease lost) per job.
local k = queue_keys(0)
require_types(queue_types(k, {{k.meta, 'hash'}}))
local now = now_us()
local settled, acked, done = {}, {}, {}
for i = 1, #ARGV, 3 do
  local id, token, retry_at = ARGV[i], ARGV[i + 1], ARGV[i + 2]
  -- a job acked earlier in this call is not held any more (its ack is written below)
  local meta = not done[id] and held(k, id, token)
  if meta then
    if retry_at == '' then
      acked[#acked + 1] = id
      done[id] = true
    else
      settle_nack(k, id, meta, retry_at, now)
    end
    settled[#settled + 1] = 1
  else
    settled[#settled + 1] = 0
  end
end
if #acked > 0 then
  settle_acks(k, acked)
end
return settled
