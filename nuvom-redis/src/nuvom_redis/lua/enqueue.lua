-- Enqueue jobs of one queue. ARGV: per job id, payload, priority, eta text or '', attempts.
-- Returns the Redis time (µs, as text) the jobs were queued at, which withdraw.lua takes.
local k = queue_keys(0)
require_types(enqueue_types(k, 1))
local now = now_us()
for i = 1, #ARGV, 5 do
  enqueue_job(k, now, ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4])
end
wake(k)
return us(now)
