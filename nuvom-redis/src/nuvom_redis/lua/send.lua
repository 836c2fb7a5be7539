-- Send one job: store its queued record, then enqueue it, in one call. KEYS: the queue's base,
-- the result store's 9 index keys, then the record's key. ARGV: the 7 record arguments of save_record, then the job's id,
-- payload, priority, eta text or '' and attempts.
-- Only the keys this call writes are type-checked (9 commands of its 21): see enqueue_types.
local k = queue_keys(0)
local key = KEYS[QUEUE_KEYS + RESULT_INDEX_KEYS + 1]
local old = redis.call('EXISTS', key) == 1
require_types(record_types(QUEUE_KEYS, tonumber(ARGV[4]), old, enqueue_types(k, 8)))
save_record(key, QUEUE_KEYS, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]}, old)
enqueue_job(k, now_us(), ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
wake(k)
return 1
