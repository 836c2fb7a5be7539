-- Read only: what the claim script would find claimable now in the queues passed (one slot's
-- queues on a Redis Cluster), so a claimer serving queues on several slots can claim by priority
-- across them. Returns microseconds until the next due job or lease expiry (-1 if none), then
-- 10 counts: jobs of priority 0..9 ready, due or with a lapsed lease. A queue whose keys hold
-- another type is left out (the claim script reports it).
local now = now_us()
local counts = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0}
local wait = -1
for o = 0, #KEYS - 1, QUEUE_KEYS do
  local k = queue_keys(o)
  if not mistyped(queue_types(k, {{k.meta, 'hash'}})) then
    for p = 0, 9 do
      local upto = p < 9 and '(' .. string.format('%.0f', (p + 1) * PRIORITY_STEP) or '+inf'
      counts[p + 1] = counts[p + 1] + redis.call('ZCOUNT', k.ready, p * PRIORITY_STEP, upto)
    end
    for _, m in ipairs(redis.call('ZRANGEBYSCORE', k.due, '-inf', now)) do
      local pr = tonumber(string.sub(m, 1, 1))
      if pr then
        counts[pr + 1] = counts[pr + 1] + 1
      end
    end
    for _, id in ipairs(redis.call('ZRANGEBYSCORE', k.leased, '-inf', now)) do
      local meta = unpack_meta(redis.call('HGET', k.meta, id))
      if meta then
        counts[meta.pr + 1] = counts[meta.pr + 1] + 1
      end
    end
    for _, key in ipairs({k.due, k.leased}) do
      local head = redis.call('ZRANGEBYSCORE', key, '(' .. us(now), '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
      if head[1] then
        local w = tonumber(head[2]) - now
        if wait < 0 or w < wait then
          wait = w
        end
      end
    end
  end
end
local reply = {us(wait)}
for p = 1, 10 do
  reply[p + 1] = counts[p]
end
return reply
