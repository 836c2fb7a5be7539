-- Store result records. KEYS: the 9 index keys, then one record key per record.
-- ARGV: save_record's 7 arguments per record.
require_types(index_types(0))
local records = {}
for i = 1, #KEYS - RESULT_INDEX_KEYS do
  local o = (i - 1) * 7
  local a = {ARGV[o + 1], ARGV[o + 2], ARGV[o + 3], ARGV[o + 4], ARGV[o + 5], ARGV[o + 6], ARGV[o + 7]}
  records[i] = {KEYS[RESULT_INDEX_KEYS + i], a}
end
save_records(0, records)
return 1
