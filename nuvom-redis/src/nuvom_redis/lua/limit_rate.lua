-- Grant one start of a rate-limited key if its window has room. KEYS[1]: the key's starts
-- (sorted set, score = start time in epoch seconds). ARGV: limit, period, now, a unique member,
-- how many periods of starts to keep. Returns '0' when granted, else the wait in seconds.
local limit, period, now = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
require_types({{KEYS[1], 'zset'}})
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[5]) * period)
local after = '(' .. string.format('%.6f', now - period)
local count = redis.call('ZCOUNT', KEYS[1], after, '+inf')
if count < limit then
  redis.call('ZADD', KEYS[1], string.format('%.6f', now), ARGV[4])
  redis.call('PEXPIRE', KEYS[1], math.ceil(tonumber(ARGV[5]) * period * 1000) + 1000)
  return '0'
end
-- the window has room once the start at rank count - limit (oldest first) has left it
local leaving = redis.call('ZRANGEBYSCORE', KEYS[1], after, '+inf', 'WITHSCORES', 'LIMIT', count - limit, 1)
return string.format('%.6f', tonumber(leaving[2]) + period - now)
