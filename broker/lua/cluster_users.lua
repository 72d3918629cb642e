-- cluster_users.lua: GET /apps/{id}/channels/{name}/users (op "users").
-- ARGV[4..5]: app, channel. Returns {1, '{"users":[{"id":...},...]}'}.
local ids = redis.call('HKEYS', key(ARGV[4], ARGV[5], 'members'))
table.sort(ids)
local out = {}
for _, id in ipairs(ids) do out[#out + 1] = '{"id":' .. cjson.encode(id) .. '}' end
return {1, '{"users":[' .. table.concat(out, ',') .. ']}'}
