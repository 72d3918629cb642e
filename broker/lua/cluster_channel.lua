-- cluster_channel.lua: GET /apps/{id}/channels/{name} (op "channel").
-- ARGV[4..6]: app, channel, flags (1 user_count, 2 subscription_count).
-- Returns {1, JSON body}.
local app, ch, flags = ARGV[4], ARGV[5], tonumber(ARGV[6])
local subs = sub_total(app, ch)
local body = '{"occupied":' .. (subs > 0 and 'true' or 'false')
local attrs = channel_attrs(app, ch, flags, subs)
if attrs ~= '' then body = body .. ',' .. attrs end
return {1, body .. '}'}
