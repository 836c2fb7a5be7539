-- Record the claims of jobs on a Redis Cluster, where a queue's slot and the records' slot differ:
-- each job's fence key keeps the newest claim's time (microseconds of its queue's Redis clock).
-- KEYS: one fence key per job. ARGV: one claim time per job. An older time never replaces a newer.
local expected = {}
for i = 1, #KEYS do
  expected[i] = {KEYS[i], 'string'}
end
require_types(expected)
for i = 1, #KEYS do
  local stored = redis.call('GET', KEYS[i])
  if not stored or tonumber(stored) < tonumber(ARGV[i]) then
    redis.call('SET', KEYS[i], ARGV[i], 'KEEPTTL')
  end
end
return 1
