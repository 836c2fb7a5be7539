-- Store one result record only if no record holds its id (a record past its TTL is gone and
-- frees the id). KEYS: the 9 index keys, then the record key. ARGV: save_record's 7 arguments.
-- Returns 1 when stored, 0 when the id is taken.
require_types(index_types(0))
local key = KEYS[RESULT_INDEX_KEYS + 1]
if redis.call('EXISTS', key) == 1 then
  return 0
end
save_record(key, 0, ARGV)
return 1
