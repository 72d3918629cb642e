-- cluster_apps.lua: the apps operators keep in Redis (op "apps",
-- gateway/gw_apps_redis.c; brokers run it too, broker/br_apps_redis.c). Keys: herald:apps, a hash app id -> the app's
-- JSON (an apps file entry); herald:apps:version, bumped with every change
-- (scripts/herald-apps). ARGV[4], ARGV[5]: unused (app, channel); ARGV[6]:
-- the version the gateway has (-1: it wants the whole hash). Read-only.
-- Returns {1, '{"version":"N"}'} when the version is the gateway's, else
-- {1, '{"version":"N","apps":{"<id>":"<app JSON as a string>",...}}'}.
local version = redis.call('GET', 'herald:apps:version') or '0'
if ARGV[6] == version then
  return {1, '{"version":' .. cjson.encode(version) .. '}'}
end
local all = redis.call('HGETALL', 'herald:apps')
local parts = {}
for i = 1, #all, 2 do
  parts[#parts + 1] = cjson.encode(all[i]) .. ':' .. cjson.encode(all[i + 1])
end
return {1, '{"version":' .. cjson.encode(version) .. ',"apps":{' .. table.concat(parts, ',') .. '}}'}
