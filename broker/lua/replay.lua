-- replay.lua: read a channel's history (run by br_store_redis.c as
-- BR_LUA_REPLAY). Read-only; atomic, so the position it returns and the
-- entries agree. Layout: see publish.lua.
--
-- KEYS[1] herald:{<app_id>:<channel>}:meta
-- KEYS[2] herald:{<app_id>:<channel>}:log
-- ARGV[1] mode: "since", "page", "rewind" or "position"
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
end
return out
