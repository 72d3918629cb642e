-- cluster_channels.lua: GET /apps/{id}/channels (op "channels").
-- ARGV[4..6]: app, filter_by_prefix ('' = all), flags (1 user_count,
-- 2 subscription_count). Returns {1, JSON body} listing occupied channels.
local app, prefix, flags = ARGV[4], ARGV[5], tonumber(ARGV[6])
local out = {}
local names = redis.call('SMEMBERS', 'herald:app:' .. app .. ':channels')
table.sort(names)
for _, ch in ipairs(names) do
  if string.sub(ch, 1, #prefix) == prefix then
    local subs = sub_total(app, ch)
    if subs > 0 then
      out[#out + 1] = cjson.encode(ch) .. ':{' .. channel_attrs(app, ch, flags, subs) .. '}'
    end
  end
end
return {1, '{"channels":{' .. table.concat(out, ',') .. '}}'}
