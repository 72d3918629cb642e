-- publish.lua: append one event to a channel (run by br_store_redis.c as
-- BR_LUA_PUBLISH, EVALSHA with EVAL fallback). Atomic: offset, history
-- entry and live notification are one step.
--
-- KEYS[1] herald:{<app_id>:<channel>}:meta  hash: next (offset counter), epoch
-- KEYS[2] herald:{<app_id>:<channel>}:log   stream, one entry per event
-- KEYS[3] herald:{<app_id>:<channel>}:live  pub/sub channel
-- ARGV[1] epoch candidate (random hex from the broker; used when meta has none)
-- ARGV[2] event bytes
-- ARGV[3] history size (XADD MAXLEN ~)
-- ARGV[4] history TTL in seconds (EXPIRE on meta and log; <= 0: no expiry)
-- Returns {offset, epoch}.
--
-- Event bytes: a serialized herald.Event (proto/herald.proto) holding only
-- name (3), data (4), socket_id (5) and user_id (6); app_id and channel are
-- implied by the key, epoch and offset by meta and the entry id. The stream
-- entry has id 0-<offset> (offsets are contiguous per channel, 1, 2, ...)
-- and one field, "e" = the event bytes, so a replay reads XRANGE
-- 0-<from> 0-<to> and has everything it needs. The live message is
-- "<epoch>:<offset>:" followed by the same event bytes.
--
-- A channel without an epoch is new (or its meta expired): it gets the
-- candidate as epoch and any leftover log is dropped, since its ids belong
-- to the previous epoch and would collide with the restarted offsets.

local offset = redis.call('HINCRBY', KEYS[1], 'next', 1)
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  epoch = ARGV[1]
  redis.call('HSET', KEYS[1], 'epoch', epoch)
  redis.call('DEL', KEYS[2])
end
local id = string.format('0-%d', offset)
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[3], id, 'e', ARGV[2])
local ttl = tonumber(ARGV[4])
if ttl and ttl > 0 then
  redis.call('EXPIRE', KEYS[1], ttl)
  redis.call('EXPIRE', KEYS[2], ttl)
end
redis.call('PUBLISH', KEYS[3], epoch .. ':' .. string.format('%d', offset) .. ':' .. ARGV[2])
return {offset, epoch}
