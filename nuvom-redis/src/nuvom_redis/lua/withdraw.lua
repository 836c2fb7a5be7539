-- Take back jobs of a send that failed halfway, unless a worker has claimed them since: each job
-- still where the send placed it (in the ready or due set, never delivered) is removed with its
-- metadata and payload. KEYS: the queue's base. ARGV: the Redis time (µs) the sending script
-- returned, then the ids it was given. Returns the ids that stay: claimed since (held, returned
-- or settled), so they may run.
local k = queue_keys(0)
require_types({{k.ready, 'zset'}, {k.due, 'zset'}, {k.meta, 'hash'}, {k.payload, 'hash'}})
local sent_at = tonumber(ARGV[1])
local ids = {unpack(ARGV, 2)}
local metas = redis.call('HMGET', k.meta, unpack(ids))

-- Where each waiting job was placed, grouped by set and score: {set, score, ids = {id = true}}.
local places = {}
local function expect(set, score, id)
  local at = set .. ' ' .. string.format('%.17g', score)
  local place = places[at]
  if not place then
    place = {set = set, score = score, ids = {}}
    places[at] = place
  end
  place.ids[id] = true
end
for i, id in ipairs(ids) do
  local meta = unpack_meta(metas[i])
  if meta and meta.dl == 0 and meta.token == '' then
    local due = sent_at
    if meta.eta ~= '' then
      due = tonumber(meta.eta) * 1000000
    end
    expect(k.ready, ready_score(meta.pr, due), id)
    if due > sent_at then
      expect(k.due, due, id) -- still due, or promoted to ready since (same score as above)
    end
  end
end

local taken = {}
for _, place in pairs(places) do
  local found = {}
  for _, m in ipairs(redis.call('ZRANGEBYSCORE', place.set, place.score, place.score)) do
    local id = member_id(m)
    if place.ids[id] and not taken[id] then
      taken[id] = true
      found[#found + 1] = m
    end
  end
  if #found > 0 then
    redis.call('ZREM', place.set, unpack(found))
  end
end

local removed, stay = {}, {}
for _, id in ipairs(ids) do
  if taken[id] then
    removed[#removed + 1] = id
  else
    stay[#stay + 1] = id
  end
end
if #removed > 0 then
  redis.call('HDEL', k.meta, unpack(removed))
  forget(k.payload, unpack(removed))
end
return stay
