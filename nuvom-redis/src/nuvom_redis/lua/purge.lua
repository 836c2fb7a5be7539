-- Delete every waiting (ready or due, not leased) job of one queue. Returns their ids.
local k = queue_keys(0)
local ids = {}
for _, set in ipairs({k.ready, k.due}) do
  for _, m in ipairs(redis.call('ZRANGE', set, 0, -1)) do
    local id = member_id(m)
    redis.call('HDEL', k.meta, id)
    redis.call('HDEL', k.payload, id)
    ids[#ids + 1] = id
  end
  redis.call('DEL', set)
end
return ids
