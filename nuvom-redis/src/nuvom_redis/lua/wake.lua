-- On a Redis Cluster, after a script made jobs claimable in their queue's slot: one token on each
-- wake-up list passed (P:wake:{P}:Q, every queue's in one slot) that has none, so a claimer
-- blocked in BLPOP on them looks again. A key holding another type is left as it is.
for _, key in ipairs(KEYS) do
  if not mistyped({{key, 'list'}}) and redis.call('LLEN', key) == 0 then
    redis.call('RPUSH', key, '1')
  end
end
return #KEYS
