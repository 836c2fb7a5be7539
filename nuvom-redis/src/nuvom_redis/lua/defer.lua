-- Return a job if ARGV[2] still holds its lease, due at ARGV[3] (epoch seconds), attempts kept.
-- ARGV: id, token, due. Returns 1, or 0 when the lease was lost.
local k = queue_keys(0)
require_types(queue_types(k, {{k.meta, 'hash'}}))
local meta = held(k, ARGV[1], ARGV[2])
if not meta then
  return 0
end
local now = now_us()
redis.call('ZREM', k.leased, ARGV[1])
redis.call('HSET', k.meta, ARGV[1], pack_meta(meta.pr, meta.att, 0, '', meta.eta))
place(k, meta.pr, ARGV[1], tonumber(ARGV[3]) * 1000000, now)
wake(k)
return 1
