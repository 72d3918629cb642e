-- cluster_count.lua: a gateway reports its local subscriber count on a
-- channel (op "count"). ARGV[4..10]: gateway, boot id, liveness ms, app,
-- channel, count, notify ("1": the app wants subscription_count events).
-- Returns {1, "<cluster total>"}.
local gw, app, ch, notify = ARGV[4], ARGV[7], ARGV[8], ARGV[10] == '1'
touch(gw, ARGV[5], ARGV[6])
if notify then
  redis.call('SET', 'herald:app:' .. app .. ':subcount', '1')
else
  redis.call('DEL', 'herald:app:' .. app .. ':subcount')
end
return {1, string.format('%d', set_count(gw, app, ch, tonumber(ARGV[9]), notify))}
