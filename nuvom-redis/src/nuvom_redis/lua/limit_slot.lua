-- Concurrency slots of one key as leases. KEYS[1]: holder -> lease expiry (sorted set, epoch
-- seconds). ARGV: op (acquire, renew or release), holder, limit, lease seconds, now.
-- acquire: '0' when the holder holds a slot, else the wait until the soonest lease lapses;
-- renew: '0', or '-1' when the holder holds no live slot; release: '0'.
local op, holder, now = ARGV[1], ARGV[2], tonumber(ARGV[5])
require_types({{KEYS[1], 'zset'}})
if op == 'release' then
  redis.call('ZREM', KEYS[1], holder)
  return '0'
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', string.format('%.6f', now))
local mine = redis.call('ZSCORE', KEYS[1], holder)
local fits = mine or (op == 'acquire' and redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]))
if fits then
  local expires = now + tonumber(ARGV[4])
  redis.call('ZADD', KEYS[1], string.format('%.6f', expires), holder)
  local last = redis.call('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
  redis.call('PEXPIREAT', KEYS[1], math.ceil(tonumber(last[2]) * 1000) + 1000)
  return '0'
end
if op == 'renew' then
  return '-1'
end
local soonest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return string.format('%.6f', tonumber(soonest[2]) - now)
