-- Push a held lease's expiry to ARGV[3] microseconds from now. ARGV: id, token, lease.
-- Returns the new expiry, or false when the lease was lost.
local k = queue_keys(0)
require_types({{k.meta, 'hash'}, {k.leased, 'zset'}})
if not held(k, ARGV[1], ARGV[2]) then
  return false
end
local expires = now_us() + tonumber(ARGV[3])
redis.call('ZADD', k.leased, expires, ARGV[1])
return us(expires)
