-- cluster_lib.lua: helpers shared by the cluster-state scripts (presence,
-- gateway liveness, subscription counts, channel queries). Never run alone:
-- br_cluster_redis.c prepends it to each cluster_*.lua script. Every such
-- script gets ARGV[1] an epoch candidate, ARGV[2] the history size and
-- ARGV[3] the history TTL (what publish.lua gets), then its own arguments
-- from ARGV[4].
--
-- Keys (one Redis; see docs/presence.md for the layout and why):
--   herald:{<app>:<ch>}:members  hash user_id -> user_info JSON ('' = none)
--   herald:{<app>:<ch>}:holders  hash user_id -> connections holding it
--   herald:{<app>:<ch>}:conns    hash "<gateway>\n<socket_id>" -> user_id
--   herald:{<app>:<ch>}:subs     hash gateway -> local subscriber count
--   herald:app:<app>:channels    set of channels with subscribers
--   herald:app:<app>:subcount    exists when subscription_count is on
--   herald:gws                   set of gateways with state here
--   herald:gw:<gw>               boot id, expires after the liveness period
--   herald:gw:<gw>:boot          boot id of the process that owns the state
--   herald:gw:<gw>:presence      set of "<app>\n<ch>\n<socket_id>"
--   herald:gw:<gw>:subs          set of "<app>\n<ch>"
--   herald:webhooks              stream of webhook events (consumer group
--                                "herald"; fields a = app, e = event JSON)
--   herald:webhooks:mask         hash app -> event types its webhooks want
--                                (bits as common/hc_webhook.h; written by
--                                every broker from its apps, br_webhooks.c)

local EPOCH, HSIZE, HTTL = ARGV[1], ARGV[2], tonumber(ARGV[3])

local function key(app, ch, suffix)
  return 'herald:{' .. app .. ':' .. ch .. '}:' .. suffix
end

local function varint(n)
  local out = {}
  repeat
    local b = n % 128
    n = math.floor(n / 128)
    if n > 0 then b = b + 128 end
    out[#out + 1] = string.char(b)
  until n == 0
  return table.concat(out)
end

-- One length-delimited protobuf field (empty strings are left out, as
-- proto3 does).
local function pbfield(num, s)
  if s == nil or s == '' then return '' end
  return string.char(num * 8 + 2) .. varint(#s) .. s
end

-- Appends an event to a channel exactly as publish.lua does: the bytes are
-- a herald.Event with name (3), data (4), socket_id (5), user_id (6).
local function append(app, ch, name, data, sid)
  local ev = pbfield(3, name) .. pbfield(4, data) .. pbfield(5, sid)
  local meta, log = key(app, ch, 'meta'), key(app, ch, 'log')
  local offset = redis.call('HINCRBY', meta, 'next', 1)
  local epoch = redis.call('HGET', meta, 'epoch')
  if not epoch then
    epoch = EPOCH
    redis.call('HSET', meta, 'epoch', epoch)
    redis.call('DEL', log)
  end
  redis.call('XADD', log, 'MAXLEN', '~', HSIZE, string.format('0-%d', offset), 'e', ev)
  if HTTL and HTTL > 0 then
    redis.call('EXPIRE', meta, HTTL)
    redis.call('EXPIRE', log, HTTL)
  end
  redis.call('PUBLISH', key(app, ch, 'live'),
             epoch .. ':' .. string.format('%d', offset) .. ':' .. ev)
end

-- Webhook event types and their bits (common/hc_webhook.h).
local WH_BITS = {channel_occupied = 1, channel_vacated = 2, member_added = 4,
                 member_removed = 8, client_event = 16, cache_miss = 32,
                 subscription_count = 64}
local WH_STREAM_MAX = 100000

-- Queues webhook event `name` of app on ch (extra: more JSON members,
-- starting with a comma, or nil) when the app's webhooks want that type.
-- Called in the same script as the state change, so a transition is
-- queued exactly once however many gateways and brokers see it.
local function webhook(app, name, ch, extra)
  local mask = tonumber(redis.call('HGET', 'herald:webhooks:mask', app) or '0')
  local bit = WH_BITS[name]
  if not bit or math.floor(mask / bit) % 2 == 0 then return end
  local ev = '{"name":"' .. name .. '","channel":' .. cjson.encode(ch) .. (extra or '') .. '}'
  redis.call('XADD', 'herald:webhooks', 'MAXLEN', '~', WH_STREAM_MAX, '*', 'a', app, 'e', ev)
end

local function sub_total(app, ch)
  local t = 0
  for _, v in ipairs(redis.call('HVALS', key(app, ch, 'subs'))) do
    t = t + tonumber(v)
  end
  return t
end

-- Sets gateway gw's subscriber count on a channel; returns the cluster
-- total. With notify, a change appends pusher_internal:subscription_count.
local function set_count(gw, app, ch, n, notify)
  local k = key(app, ch, 'subs')
  local before = sub_total(app, ch)
  local entry = app .. '\n' .. ch
  if n > 0 then
    redis.call('HSET', k, gw, n)
    redis.call('SADD', 'herald:gw:' .. gw .. ':subs', entry)
    redis.call('SADD', 'herald:app:' .. app .. ':channels', ch)
  else
    redis.call('HDEL', k, gw)
    redis.call('SREM', 'herald:gw:' .. gw .. ':subs', entry)
  end
  local after = sub_total(app, ch)
  if after == 0 then
    redis.call('SREM', 'herald:app:' .. app .. ':channels', ch)
  end
  if notify and after ~= before and after > 0 then
    append(app, ch, 'pusher_internal:subscription_count',
           '{"subscription_count":' .. string.format('%d', after) .. '}', '')
  end
  if before == 0 and after > 0 then webhook(app, 'channel_occupied', ch) end
  if after ~= before and after > 0 then
    webhook(app, 'subscription_count', ch, ',"subscription_count":' .. string.format('%d', after))
  end
  if before > 0 and after == 0 then webhook(app, 'channel_vacated', ch) end
  return after
end

-- Removes connection sid of gateway gw from a presence channel; appends
-- member_removed when it held the user's last connection.
local function leave(gw, app, ch, sid)
  local conns = key(app, ch, 'conns')
  local ck = gw .. '\n' .. sid
  redis.call('SREM', 'herald:gw:' .. gw .. ':presence', app .. '\n' .. ch .. '\n' .. sid)
  local uid = redis.call('HGET', conns, ck)
  if not uid then return false end
  redis.call('HDEL', conns, ck)
  local holders = key(app, ch, 'holders')
  if redis.call('HINCRBY', holders, uid, -1) > 0 then return false end
  redis.call('HDEL', holders, uid)
  redis.call('HDEL', key(app, ch, 'members'), uid)
  append(app, ch, 'pusher_internal:member_removed', '{"user_id":' .. cjson.encode(uid) .. '}', sid)
  webhook(app, 'member_removed', ch, ',"user_id":' .. cjson.encode(uid))
  return true
end

-- Removes everything gateway gw holds (its process is gone).
local function sweep_gw(gw)
  local idx = 'herald:gw:' .. gw .. ':presence'
  for _, e in ipairs(redis.call('SMEMBERS', idx)) do
    local app, ch, sid = string.match(e, '^(.-)\n(.-)\n(.*)$')
    if app then leave(gw, app, ch, sid) end
  end
  redis.call('DEL', idx)
  local sidx = 'herald:gw:' .. gw .. ':subs'
  for _, e in ipairs(redis.call('SMEMBERS', sidx)) do
    local app, ch = string.match(e, '^(.-)\n(.*)$')
    if app then
      set_count(gw, app, ch, 0, redis.call('EXISTS', 'herald:app:' .. app .. ':subcount') == 1)
    end
  end
  redis.call('DEL', sidx)
  redis.call('DEL', 'herald:gw:' .. gw .. ':boot')
  redis.call('SREM', 'herald:gws', gw)
end

-- Marks gateway gw (process boot) alive for ttl ms. State left by another
-- process of the same gateway id is removed first. Returns true when the
-- liveness key had lapsed: the gateway must announce its state again.
local function touch(gw, boot, ttl)
  local bk = 'herald:gw:' .. gw .. ':boot'
  local prev = redis.call('GET', bk)
  if prev and prev ~= boot then sweep_gw(gw) end
  local was = redis.call('SET', 'herald:gw:' .. gw, boot, 'PX', ttl, 'GET')
  redis.call('SET', bk, boot)
  redis.call('SADD', 'herald:gws', gw)
  return not was
end

-- {"presence":{"ids":[...],"hash":{...},"count":n}} of a channel.
local function presence_json(app, ch)
  local all = redis.call('HGETALL', key(app, ch, 'members'))
  local ids, hash = {}, {}
  for i = 1, #all, 2 do
    local id = cjson.encode(all[i])
    local info = all[i + 1]
    if info == '' then info = 'null' end
    ids[#ids + 1] = id
    hash[#hash + 1] = id .. ':' .. info
  end
  return '{"presence":{"ids":[' .. table.concat(ids, ',') .. '],"hash":{' ..
         table.concat(hash, ',') .. '},"count":' .. string.format('%d', #ids) .. '}}'
end

-- Cluster-wide attributes of a channel as JSON members (no braces):
-- flags 1 = user_count (presence channels), 2 = subscription_count.
local function channel_attrs(app, ch, flags, subs)
  local parts = {}
  if flags % 2 == 1 and string.sub(ch, 1, 9) == 'presence-' then
    parts[#parts + 1] = '"user_count":' ..
                        string.format('%d', redis.call('HLEN', key(app, ch, 'members')))
  end
  if math.floor(flags / 2) % 2 == 1 then
    parts[#parts + 1] = '"subscription_count":' .. string.format('%d', subs)
  end
  return table.concat(parts, ',')
end
