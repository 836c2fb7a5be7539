-- Record the fire of schedule ARGV[1] at ARGV[2] if its next_run is still exactly ARGV[2] (the
-- same float repr text): count the run, set last_run and next_run to ARGV[3] and clear the claim;
-- ARGV[3] '' deletes the schedule. KEYS[1]: the store's base P:{schedules}:. Returns 1 or 0.
local records, runs = KEYS[1] .. 'records', KEYS[1] .. 'runs'
local due, claims = KEYS[1] .. 'next', KEYS[1] .. 'claims'
require_types({{records, 'hash'}, {runs, 'hash'}, {due, 'zset'}, {claims, 'zset'}})
local id, fire_ts, next_run = ARGV[1], ARGV[2], ARGV[3]
local run = redis.call('HGET', runs, id)
if not run then
  return 0
end
local stored, count = string.match(run, '^([^|]*)|(%d+)|')
if stored ~= fire_ts then
  return 0
end
redis.call('ZREM', claims, id)
if next_run == '' then
  redis.call('HDEL', records, id)
  redis.call('HDEL', runs, id)
  redis.call('ZREM', due, id)
  return 1
end
redis.call('HSET', runs, id, next_run .. '|' .. string.format('%d', tonumber(count) + 1) .. '|' .. fire_ts)
redis.call('ZADD', due, next_run, id)
return 1
