-- cluster_join.lua: a connection joins a presence channel (op "join").
-- ARGV[4..12]: gateway, boot id, liveness ms, app, channel, socket_id,
-- user_id, user_info JSON ('' = none), max members (0 = no limit).
-- Appends member_added (carrying the joining socket_id, so that socket is
-- not sent its own arrival) when this is the user's first connection.
-- Returns {1, presence JSON} or {0, "limit"} when the channel is full.
local gw, boot, ttl, app, ch = ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8]
local sid, uid, info, max = ARGV[9], ARGV[10], ARGV[11], tonumber(ARGV[12])
touch(gw, boot, ttl)
local conns, holders, members = key(app, ch, 'conns'), key(app, ch, 'holders'), key(app, ch, 'members')
local ck = gw .. '\n' .. sid
local had = redis.call('HGET', conns, ck)
if had and had ~= uid then
  leave(gw, app, ch, sid)
  had = false
end
if not had then
  local n = tonumber(redis.call('HGET', holders, uid) or '0')
  if n == 0 and max > 0 and redis.call('HLEN', members) >= max then
    return {0, 'limit'}
  end
  redis.call('HSET', conns, ck, uid)
  redis.call('HINCRBY', holders, uid, 1)
  redis.call('SADD', 'herald:gw:' .. gw .. ':presence', app .. '\n' .. ch .. '\n' .. sid)
  if n == 0 then
    redis.call('HSET', members, uid, info)
    local data = '{"user_id":' .. cjson.encode(uid)
    if info ~= '' then data = data .. ',"user_info":' .. info end
    append(app, ch, 'pusher_internal:member_added', data .. '}', sid)
    webhook(app, 'member_added', ch, ',"user_id":' .. cjson.encode(uid))
  end
end
return {1, presence_json(app, ch)}
