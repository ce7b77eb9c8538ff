//! The atomic steps Redis takes for the room, as Lua scripts: each decides
//! what several servers could race for (a name; a leave announced once) in
//! the same step that adds the event using it to the room's stream.

/// A client's arrival: claims its name if it is free (in book mode its
/// address), lists it among its server's members, and adds the arrival to
/// the room's events, whether the name was free and its place among
/// arrivals filled in by Redis. Published either way: every server refuses
/// a taken name for itself, from the same order.
///
/// KEYS: members, held, arrivals, events, count, then the name's keys.
/// ARGV: connection id, owner (`S:ID`), name, the event.
pub const ENTER: &str = r"
local free = true
for i = 6, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[2] then free = false end
end
local seq = redis.call('INCR', KEYS[3])
if free then
  for i = 6, #KEYS do
    redis.call('SET', KEYS[i], ARGV[2])
    redis.call('SADD', KEYS[2], KEYS[i])
  end
  redis.call('HSET', KEYS[1], ARGV[1], seq .. ':' .. ARGV[3])
end
local event = string.sub(ARGV[4], 1, #ARGV[4] - 21) .. (free and '1' or '0') .. string.format('%020d', seq)
local n = redis.call('INCR', KEYS[5])
redis.call('XADD', KEYS[4], 'MAXLEN', '~', '10000', '*', 'n', n, 'e', event)
return free and 1 or 0
";

/// A rename: claims the new name's keys if no one else holds them, lets
/// go of the old ones, and publishes the rename either way, with whether
/// it was free in its last byte.
///
/// KEYS: members, held, events, count, then the new name's keys.
/// ARGV: connection id, owner, new name, the event.
pub const NICK: &str = r"
local free = true
for i = 5, #KEYS do
  local holder = redis.call('GET', KEYS[i])
  if holder and holder ~= ARGV[2] then free = false end
end
if free then
  for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
    if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
  end
  redis.call('DEL', KEYS[2])
  for i = 5, #KEYS do
    redis.call('SET', KEYS[i], ARGV[2])
    redis.call('SADD', KEYS[2], KEYS[i])
  end
  local member = redis.call('HGET', KEYS[1], ARGV[1])
  if member then
    local seq = string.match(member, '^(%d+):')
    redis.call('HSET', KEYS[1], ARGV[1], seq .. ':' .. ARGV[3])
  end
end
local event = string.sub(ARGV[4], 1, #ARGV[4] - 1) .. (free and '1' or '0')
local n = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'n', n, 'e', event)
return free and 1 or 0
";

/// A leave: lets go of the client's names, takes it off its server's
/// members, and publishes the leave. With ARGV[4] set (a dead server's
/// clients), only if it was still a member: the leave is announced once,
/// however many servers try.
///
/// KEYS: members, held, events, count. ARGV: connection id, owner, the
/// event, `once`.
pub const LEAVE: &str = r"
local was = redis.call('HDEL', KEYS[1], ARGV[1])
if ARGV[4] == 'once' and was == 0 then return 0 end
for _, key in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if redis.call('GET', key) == ARGV[2] then redis.call('DEL', key) end
end
redis.call('DEL', KEYS[2])
local n = redis.call('INCR', KEYS[4])
redis.call('XADD', KEYS[3], 'MAXLEN', '~', '10000', '*', 'n', n, 'e', ARGV[3])
return 1
";

/// Lines (one or more events) added to the room's stream, numbered: each
/// message holds `n`, the number of its last event among all the stream
/// has had, so that a reader knows how many it missed.
///
/// KEYS: events, count. ARGV: how many events, the message.
pub const PUBLISH: &str = r"
local n = redis.call('INCRBY', KEYS[2], ARGV[1])
redis.call('XADD', KEYS[1], 'MAXLEN', '~', '10000', '*', 'n', n, 'e', ARGV[2])
return n
";

/// Where a server joining starts to follow the room: the stream's last
/// event, the count of events so far, and who was in then (so that what
/// was said before can be replayed with its senders' names), read in one
/// step.
///
/// KEYS: events, count, servers. ARGV: what every members' key starts
/// with. Returns the last event's number (`0-0` for none), the count, and
/// the members: server, connection id, `SEQ:NAME`, and again.
pub const JOINED: &str = r"
local last = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
local id = '0-0'
if last[1] then id = last[1][1] end
local members = {}
for _, server in ipairs(redis.call('SMEMBERS', KEYS[3])) do
  local listed = redis.call('HGETALL', ARGV[1] .. server)
  for i = 1, #listed, 2 do
    members[#members + 1] = server
    members[#members + 1] = listed[i]
    members[#members + 1] = listed[i + 1]
  end
end
return {id, redis.call('GET', KEYS[2]) or '0', members}
";

/// The room's mode, set if no server holds it, refreshed if it is ours;
/// returns the mode the room is in.
///
/// KEYS: mode. ARGV: our mode, its lifetime in milliseconds.
pub const MODE: &str = r"
local mode = redis.call('GET', KEYS[1])
if mode and mode ~= ARGV[1] then return mode end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return ARGV[1]
";

/// The room's mode goes with its last server, so that the next may start
/// in either mode. KEYS: servers, mode.
pub const LAST_OUT: &str = r"
if redis.call('SCARD', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]) end
return 0
";
