-- Claim up to ARGV[2] schedules whose next_run <= ARGV[1] and whose claim has lapsed (no claim, or
-- claimed_until <= ARGV[1]), earliest first by (next_run, id), setting claimed_until to ARGV[3].
-- Times are the caller's (a scheduler passes its own clock), as float text. KEYS[1]: the store's
-- base P:{schedules}:. Returns id, record blob (or false), runs text (or false) per claimed schedule.
local records, runs = KEYS[1] .. 'records', KEYS[1] .. 'runs'
local due, claims = KEYS[1] .. 'next', KEYS[1] .. 'claims'
require_types({{records, 'hash'}, {runs, 'hash'}, {due, 'zset'}, {claims, 'zset'}})
local now, limit, claim_until = tonumber(ARGV[1]), tonumber(ARGV[2]), ARGV[3]
local page = math.max(limit, 64)
local out = {}
local claimed, offset = 0, 0
while claimed < limit do
  local ids = redis.call('ZRANGEBYSCORE', due, '-inf', ARGV[1], 'LIMIT', offset, page)
  for _, id in ipairs(ids) do
    local held = redis.call('ZSCORE', claims, id)
    if not held or tonumber(held) <= now then
      redis.call('ZADD', claims, claim_until, id)
      out[#out + 1] = id
      out[#out + 1] = redis.call('HGET', records, id)
      out[#out + 1] = redis.call('HGET', runs, id)
      claimed = claimed + 1
      if claimed == limit then
        break
      end
    end
  end
  if #ids < page then
    break
  end
  offset = offset + page
end
return out
