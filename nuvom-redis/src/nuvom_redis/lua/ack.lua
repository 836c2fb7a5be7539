-- Remove a job for good if ARGV[2] still holds its lease. ARGV: id, token. Returns 1 or 0.
local k = queue_keys(0)
require_types({{k.meta, 'hash'}, {k.leased, 'zset'}})
if not held(k, ARGV[1], ARGV[2]) then
  return 0
end
settle_acks(k, {ARGV[1]})
return 1
