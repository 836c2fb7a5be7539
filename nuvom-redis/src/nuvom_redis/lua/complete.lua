-- Fenced completion: if ARGV[2] still holds the job's lease, store its result record and ack
-- the job (ARGV[3] = '') or nack it due at ARGV[3], in one atomic step. KEYS: the queue's base,
-- the result store's 9 index keys, then the record's key. ARGV: id, token, retry_at, then the 7 record arguments of save_record.
local k = queue_keys(0)
local meta = held(k, ARGV[1], ARGV[2])
if not meta then
  return 0
end
save_record(KEYS[QUEUE_KEYS + RESULT_INDEX_KEYS + 1], QUEUE_KEYS, {ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], ARGV[10]})
if ARGV[3] == '' then
  settle_ack(k, ARGV[1])
else
  settle_nack(k, ARGV[1], meta, ARGV[3], now_us())
end
return 1
