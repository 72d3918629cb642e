-- cluster_online.lua: which of a watchlist's users are online (op
-- "online", gateway/gw_watchlist.c). A user is online while it is a member
-- of its online channel #herald-online-<user id> (every signed-in
-- connection joins it through cluster_join.lua). ARGV[4] app, ARGV[5]
-- (unused channel), ARGV[6] the user ids separated by newlines. For each,
-- reads membership and the channel's position in one step, giving the
-- channel an epoch when it has none, so the gateway can take the live
-- member_added / member_removed events from exactly there. Returns
-- {1, '[[user_id, 0|1, epoch, offset], ...]'} in the order asked.
local app = ARGV[4]
local rows = {}
for uid in string.gmatch(ARGV[6] or '', '[^\n]+') do
  local ch = '#herald-online-' .. uid
  local meta = key(app, ch, 'meta')
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = EPOCH
    redis.call('HSET', meta, 'epoch', epoch)
    redis.call('DEL', key(app, ch, 'log'))
    if HTTL and HTTL > 0 then redis.call('EXPIRE', meta, HTTL) end
  end
  local offset = tonumber(redis.call('HGET', meta, 'next') or '0')
  local on = redis.call('HEXISTS', key(app, ch, 'members'), uid)
  rows[#rows + 1] = '[' .. cjson.encode(uid) .. ',' .. string.format('%d', on) .. ',' ..
                    cjson.encode(epoch) .. ',' .. string.format('%d', offset) .. ']'
end
return {1, '[' .. table.concat(rows, ',') .. ']'}
