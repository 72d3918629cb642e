-- cluster_beat.lua: a gateway's heartbeat (op "beat").
-- ARGV[4..6]: gateway, boot id, liveness ms. Returns {1, "fresh"} when the
-- gateway must announce its state again (its liveness key had lapsed, or
-- this is a new process), else {1, "ok"}.
if touch(ARGV[4], ARGV[5], ARGV[6]) then return {1, 'fresh'} end
return {1, 'ok'}
