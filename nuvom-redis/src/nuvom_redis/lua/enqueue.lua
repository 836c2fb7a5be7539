-- Enqueue jobs of one queue. ARGV: per job id, payload, priority, eta text or '', attempts.
-- A job id already in the queue is left as it is (enqueue is idempotent per id).
local k = queue_keys(0)
local now = now_us()
for i = 1, #ARGV, 5 do
  local id, pr, eta = ARGV[i], tonumber(ARGV[i + 2]), ARGV[i + 3]
  if redis.call('HSETNX', k.meta, id, pack_meta(pr, ARGV[i + 4], 0, '', eta)) == 1 then
    redis.call('HSET', k.payload, id, ARGV[i + 1])
    local due = now
    if eta ~= '' then
      due = tonumber(eta) * 1000000
    end
    place(k, pr, id, due, now)
  end
end
wake(k)
return 1
