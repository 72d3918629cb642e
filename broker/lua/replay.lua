-- replay.lua: read a channel's history (run by br_store_redis.c as
-- BR_LUA_REPLAY). Read-only; atomic, so the position it returns and the
-- entries agree. Layout: see publish.lua.
--
-- KEYS[1] herald:{<app_id>:<channel>}:meta
-- KEYS[2] herald:{<app_id>:<channel>}:log
-- ARGV[1] mode: "since", "page", "rewind", "cache" or "position"
-- ARGV[2] since: the client's epoch
-- ARGV[3] since: the last offset the client has; rewind: N
-- ARGV[4] limit (most entries returned)
-- Returns {epoch or "", last offset, recovered 0|1, more 0|1,
--          offset1, event1, offset2, event2, ...} oldest first.
--
-- since is recovered when the epoch is the channel's and the log still
-- holds offset+1 (or the client is already at the end); otherwise no
-- entries are returned: the client must reload. rewind is recovered when
-- it returns min(N, last offset) entries. page returns the entries after
-- ARGV[3] that are still there (no recovery check; ARGV[2] "" = the
-- current epoch, another epoch than the channel's: none, recovered 0).
-- cache returns the last entry whose event name does not start with
-- "pusher_internal:" (member and count events share presence-cache-
-- streams), scanning back at most CACHE_SCAN entries; recovered 1.

local epoch = redis.call('HGET', KEYS[1], 'epoch')
local last = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if not epoch then
  epoch = ''
  last = 0
end
local mode = ARGV[1]
local limit = tonumber(ARGV[4])
local out = {epoch, last, 1, 0}

local function offset_of(id)
  return tonumber(string.match(id, '^0%-(%d+)$'))
end

local CACHE_SCAN = 10000

-- Reads a protobuf varint at i; returns the value and the next index, or
-- nil at the end of s.
local function varint_at(s, i)
  local v, mul = 0, 1
  while i <= #s do
    local b = string.byte(s, i)
    i = i + 1
    v = v + (b % 128) * mul
    mul = mul * 128
    if b < 128 then return v, i end
  end
  return nil
end

-- The name (field 3) of a stored herald.Event, or nil.
local function event_name(ev)
  local i = 1
  while i <= #ev do
    local tag
    tag, i = varint_at(ev, i)
    if not tag then return nil end
    local wt = tag % 8
    if wt == 0 then
      local _
      _, i = varint_at(ev, i)
      if not i then return nil end
    elseif wt == 2 then
      local len
      len, i = varint_at(ev, i)
      if not len then return nil end
      if math.floor(tag / 8) == 3 then return string.sub(ev, i, i + len - 1) end
      i = i + len
    else
      return nil
    end
  end
  return nil
end

if mode == 'since' then
  local after = tonumber(ARGV[3])
  if epoch == '' or ARGV[2] ~= epoch or after > last then
    out[3] = 0
    return out
  end
  if after == last then
    return out
  end
  local rows = redis.call('XRANGE', KEYS[2], '0-' .. (after + 1), '+', 'COUNT', limit)
  if #rows == 0 or offset_of(rows[1][1]) ~= after + 1 then
    out[3] = 0
    return out
  end
  for _, row in ipairs(rows) do
    out[#out + 1] = offset_of(row[1])
    out[#out + 1] = row[2][2]
  end
  if offset_of(rows[#rows][1]) < last then
    out[4] = 1
  end
elseif mode == 'page' then
  if ARGV[2] ~= '' and ARGV[2] ~= epoch then
    out[3] = 0
    return out
  end
  local rows = redis.call('XRANGE', KEYS[2], '0-' .. (tonumber(ARGV[3]) + 1), '+', 'COUNT', limit)
  for _, row in ipairs(rows) do
    out[#out + 1] = offset_of(row[1])
    out[#out + 1] = row[2][2]
  end
  if #rows > 0 and offset_of(rows[#rows][1]) < last then
    out[4] = 1
  end
elseif mode == 'rewind' then
  local n = tonumber(ARGV[3])
  if n > limit then
    n = limit
  end
  local rows = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', n)
  for i = #rows, 1, -1 do
    out[#out + 1] = offset_of(rows[i][1])
    out[#out + 1] = rows[i][2][2]
  end
  local want = tonumber(ARGV[3])
  if want > last then
    want = last
  end
  if #rows < want then
    out[3] = 0
  end
elseif mode == 'cache' then
  local hi, scanned = '+', 0
  while scanned < CACHE_SCAN do
    local rows = redis.call('XREVRANGE', KEYS[2], hi, '-', 'COUNT', 100)
    if #rows == 0 then break end
    for _, row in ipairs(rows) do
      local name = event_name(row[2][2]) or ''
      if string.sub(name, 1, 16) ~= 'pusher_internal:' then
        out[#out + 1] = offset_of(row[1])
        out[#out + 1] = row[2][2]
        return out
      end
    end
    scanned = scanned + #rows
    local low = offset_of(rows[#rows][1])
    if not low or low <= 1 then break end
    hi = '0-' .. (low - 1)
  end
end
return out
