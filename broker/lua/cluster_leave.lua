-- cluster_leave.lua: a connection leaves a presence channel (op "leave").
-- ARGV[4..7]: gateway, app, channel, socket_id. Appends member_removed when
-- it held the user's last connection. Returns {1, "1"} or {1, "0"}.
if leave(ARGV[4], ARGV[5], ARGV[6], ARGV[7]) then return {1, '1'} end
return {1, '0'}
