-- cluster_sweep.lua: removes the state of every gateway whose liveness key
-- expired, emitting the member_removed (and subscription_count) events it
-- owed. Run periodically by every broker; atomic, so a dead gateway is
-- swept exactly once however many brokers run it. Returns {1, "<n swept>"}.
local n = 0
for _, gw in ipairs(redis.call('SMEMBERS', 'herald:gws')) do
  if redis.call('EXISTS', 'herald:gw:' .. gw) == 0 then
    sweep_gw(gw)
    n = n + 1
  end
end
return {1, string.format('%d', n)}
