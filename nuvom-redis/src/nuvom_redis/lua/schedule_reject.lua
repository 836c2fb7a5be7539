-- Move schedule ARGV[1] out of the store into the rejected hash, if its record is still ARGV[2]
-- ('' for none): a schedule that cannot be decoded is never claimed again. KEYS[1]: the store's
-- base P:{schedules}:. Returns 1 when moved, 0 when the schedule changed meanwhile.
local id, blob = ARGV[1], ARGV[2]
local base = KEYS[1]
require_types({
  {base .. 'records', 'hash'}, {base .. 'runs', 'hash'}, {base .. 'next', 'zset'},
  {base .. 'claims', 'zset'}, {base .. 'rejected', 'hash'}
})
local stored = redis.call('HGET', KEYS[1] .. 'records', id) or ''
if stored ~= blob then
  return 0
end
redis.call('HSET', KEYS[1] .. 'rejected', id, blob)
redis.call('HDEL', KEYS[1] .. 'records', id)
redis.call('HDEL', KEYS[1] .. 'runs', id)
redis.call('ZREM', KEYS[1] .. 'next', id)
redis.call('ZREM', KEYS[1] .. 'claims', id)
return 1
