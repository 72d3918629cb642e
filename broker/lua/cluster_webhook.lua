-- cluster_webhook.lua: a gateway queues a webhook event it saw itself
-- (client_event, cache_miss) (op "webhook"). ARGV[4..6]: app, channel,
-- event JSON ({"name":...,"channel":...,...}, built by common/hc_webhook.c).
-- Queued only when the app's webhooks want its type. Returns {1, "1"} when
-- queued, {1, "0"} when not wanted.
local app, ev = ARGV[4], ARGV[6]
local ok, o = pcall(cjson.decode, ev)
if not ok or type(o) ~= 'table' or type(o.name) ~= 'string' then return {0, 'bad event'} end
local bit = WH_BITS[o.name]
local mask = tonumber(redis.call('HGET', 'herald:webhooks:mask', app) or '0')
if not bit or math.floor(mask / bit) % 2 == 0 then return {1, '0'} end
redis.call('XADD', 'herald:webhooks', 'MAXLEN', '~', WH_STREAM_MAX, '*', 'a', app, 'e', ev)
return {1, '1'}
