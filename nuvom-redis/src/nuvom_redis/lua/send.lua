-- Send one job: store its queued record, then enqueue it, in one call. KEYS: the queue's base,
-- the result store's 9 index keys, then the record's key. ARGV: the 7 record arguments of save_record, then the job's id,
-- payload, priority, eta text or '' and attempts.
local k = queue_keys(0)
require_types(index_types(QUEUE_KEYS))
require_types(queue_types(k, {{k.meta, 'hash'}, {k.payload, 'hash'}}))
save_record(KEYS[QUEUE_KEYS + RESULT_INDEX_KEYS + 1], QUEUE_KEYS, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]})
enqueue_job(k, now_us(), ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
wake(k)
return 1
