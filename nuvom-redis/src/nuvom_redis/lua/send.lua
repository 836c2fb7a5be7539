-- Send one job: store its queued record, then enqueue it, in one call. KEYS: the queue's 17,
-- then the record's 10. ARGV: the 7 record arguments of save_record, then the job's id,
-- payload, priority, eta text or '' and attempts.
local k = queue_keys(0)
save_record(QUEUE_KEYS, {ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7]})
enqueue_job(k, now_us(), ARGV[8], ARGV[9], ARGV[10], ARGV[11], ARGV[12])
wake(k)
return 1
