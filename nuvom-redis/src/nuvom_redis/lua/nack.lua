-- Return a job if ARGV[2] still holds its lease. ARGV: id, token, retry_at text or ''.
local k = queue_keys(0)
require_types(queue_types(k, {{k.meta, 'hash'}}))
local meta = held(k, ARGV[1], ARGV[2])
if not meta then
  return 0
end
settle_nack(k, ARGV[1], meta, ARGV[3], now_us())
return 1
