/**
 * Lua scripts that make membership changes atomic in Redis. Each runs as one command, so
 * concurrent joins from any number of nodes never exceed capacity, and exactly one join sees
 * the room go from 1 to 2 members.
 */

/**
 * Lua shared by the scripts: the identities and metadata of a room's members (KEYS[1] members
 * hash, KEYS[2] meta hash), skipping `except` (or nobody when it is nil).
 */
const LIST_MEMBERS = `
local function list_members(except)
  local peers = {}
  local metas = {}
  for i, id in ipairs(redis.call('HKEYS', KEYS[1])) do
    if id ~= except then
      table.insert(peers, redis.call('HGET', KEYS[1], id))
      table.insert(metas, redis.call('HGET', KEYS[2], id) or '{}')
    end
  end
  return peers, metas
end
`;

/** JOIN's answer when the caller's epoch is not Redis's: Redis lost its data, restore first. */
export const JOIN_STALE_EPOCH = -1;
/** JOIN's answer while nodes restore their members after a data loss: retry shortly. */
export const JOIN_RECOVERING = -2;

/**
 * KEYS: members, meta, cap, seq, nodeMembers(node), epoch, recovery; or under Redis Cluster only
 *       the first four (one slot): the caller then checks the epoch and recovery (GATE) and adds
 *       the node entry itself, before this script, since those keys live in another slot
 * ARGV: memberId, identity JSON without seq, meta JSON, capacity, node entry, mode ('join', or
 *       'restore' to put back a member admitted before a data loss: allowed while the recovery
 *       set exists, but never beyond capacity), the caller's epoch
 * Returns {ok(1|0|-1|-2), capacity, ready(0|1), peersIdentity[], peersMeta[]} (peers before this join).
 */
export const JOIN = LIST_MEMBERS + `
local whole = #KEYS >= 7
if whole and redis.call('GET', KEYS[6]) ~= ARGV[7] then
  return {-1, 0, 0, {}, {}}
end
if whole and ARGV[6] ~= 'restore' and redis.call('EXISTS', KEYS[7]) == 1 then
  return {-2, 0, 0, {}, {}}
end
local n = redis.call('HLEN', KEYS[1])
local cap = tonumber(redis.call('GET', KEYS[3]))
if n == 0 or cap == nil then
  cap = tonumber(ARGV[4])
  redis.call('SET', KEYS[3], cap)
end
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if existing == false and n >= cap then
  return {0, cap, 0, {}, {}}
end
local peers, metas = list_members(ARGV[1])
local seq
if existing then
  seq = cjson.decode(existing)['seq']
else
  seq = redis.call('INCR', KEYS[4])
end
local identity = cjson.decode(ARGV[2])
identity['seq'] = seq
redis.call('HSET', KEYS[1], ARGV[1], cjson.encode(identity))
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
if whole then redis.call('SADD', KEYS[5], ARGV[5]) end
local ready = 0
if existing == false and n == 1 then ready = 1 end
return {1, cap, ready, peers, metas}
`;

/**
 * KEYS: epoch, recovery. ARGV: the caller's epoch, mode. JOIN's first two checks, on their own
 * for Redis Cluster (where the epoch and recovery keys are in another slot than the room's).
 * Returns 1 (go on), -1 (stale epoch) or -2 (recovering).
 */
export const GATE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
if ARGV[2] ~= 'restore' and redis.call('EXISTS', KEYS[2]) == 1 then return -2 end
return 1
`;

/**
 * KEYS: a key to delete, a set. ARGV: the member to remove from the set. Both in one slot (the
 * node keys share one under Cluster).
 */
export const DROP = `
redis.call('DEL', KEYS[1])
return redis.call('SREM', KEYS[2], ARGV[1])
`;

/**
 * KEYS: epoch, recovery. ARGV: a new epoch, recovery window ms, ids of the nodes expected to
 * restore. When Redis has no epoch (it lost its data, or is new), sets the new one and the
 * recovery set (joins wait until every listed node has restored, or the window ends).
 * Returns the epoch now in force.
 */
export const BEGIN_EPOCH = `
local e = redis.call('GET', KEYS[1])
if e then return e end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
if #ARGV > 2 and tonumber(ARGV[2]) > 0 then
  redis.call('SADD', KEYS[2], unpack(ARGV, 3))
  redis.call('PEXPIRE', KEYS[2], ARGV[2])
end
return ARGV[1]
`;

/**
 * KEYS: node, nodes, epoch. ARGV: node info JSON, TTL ms, node id.
 * Refreshes the node's liveness key. Returns {had the key (0|1), epoch or ''}: a key that expired
 * meanwhile means survivors may have reaped this node's members; another epoch means data loss.
 */
export const HEARTBEAT = `
local had = redis.call('EXISTS', KEYS[1])
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
redis.call('SADD', KEYS[2], ARGV[3])
return {had, redis.call('GET', KEYS[3]) or ''}
`;

/**
 * KEYS: members, meta, cap, seq, queue, queueDropped
 * ARGV: memberId, node entry, onlyIfNode ('' for any), node key prefix (the holder's member set
 *       is `<prefix><node>:members`, found from the record; '' under Cluster, where that set is in
 *       another slot and the caller removes the entry itself)
 * Returns {removed(0|1), remainingIdentity[], remainingMeta[], holder node ('' when not removed)}.
 */
export const LEAVE = LIST_MEMBERS + `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
local removed = 0
local holder = ''
if existing then
  local rec = cjson.decode(existing)
  if ARGV[3] == '' or rec['node'] == ARGV[3] then
    redis.call('HDEL', KEYS[1], ARGV[1])
    redis.call('HDEL', KEYS[2], ARGV[1])
    if ARGV[4] ~= '' then redis.call('SREM', ARGV[4] .. rec['node'] .. ':members', ARGV[2]) end
    removed = 1
    holder = rec['node']
  end
end
if removed == 1 or ARGV[3] == '' then
  redis.call('DEL', KEYS[5], KEYS[6])
end
local peers, metas = list_members(nil)
if #peers == 0 then
  redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4])
end
return {removed, peers, metas, holder}
`;

/**
 * KEYS: members, meta. ARGV: memberId, meta JSON.
 * Returns {identity, meta} or nil when the member is not in the room.
 */
export const SET_META = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then return nil end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return {existing, ARGV[2]}
`;

/**
 * KEYS: members, meta. ARGV: memberId, new node, node key prefix ('' under Cluster: the caller
 * moves the entry itself), entry.
 * Moves the member's entry from its old node's member set to the new node's.
 * Returns {identity, meta, old node} or nil.
 */
export const SET_NODE = `
local existing = redis.call('HGET', KEYS[1], ARGV[1])
if not existing then return nil end
local rec = cjson.decode(existing)
local old = rec['node']
if ARGV[3] ~= '' then redis.call('SREM', ARGV[3] .. old .. ':members', ARGV[4]) end
rec['node'] = ARGV[2]
local encoded = cjson.encode(rec)
redis.call('HSET', KEYS[1], ARGV[1], encoded)
if ARGV[3] ~= '' then redis.call('SADD', ARGV[3] .. ARGV[2] .. ':members', ARGV[4]) end
return {encoded, redis.call('HGET', KEYS[2], ARGV[1]) or '{}', old}
`;

/**
 * KEYS: members, meta. Returns {identity[], meta[]}.
 */
export const MEMBERS = LIST_MEMBERS + `
local peers, metas = list_members(nil)
return {peers, metas}
`;

/**
 * KEYS: queue, queueDropped, members. ARGV: frame, max, ttl ms, holder ('' for none), member id.
 * Appends; trims the oldest beyond max and counts them. With a holder: only while the member's
 * record names that node (-1 otherwise: it resumed elsewhere, or left), so a frame cannot land
 * in a queue after the node that took the member over has drained it.
 */
export const ENQUEUE = `
if ARGV[4] ~= '' then
  local raw = redis.call('HGET', KEYS[3], ARGV[5])
  if not raw or cjson.decode(raw)['node'] ~= ARGV[4] then return -1 end
end
local len = redis.call('RPUSH', KEYS[1], ARGV[1])
local max = tonumber(ARGV[2])
if len > max then
  redis.call('LTRIM', KEYS[1], len - max, -1)
  redis.call('INCRBY', KEYS[2], len - max)
end
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return len
`;

/** KEYS: queue, queueDropped. Returns {frames[], dropped}. */
export const DRAIN = `
local frames = redis.call('LRANGE', KEYS[1], 0, -1)
local dropped = tonumber(redis.call('GET', KEYS[2]) or '0')
redis.call('DEL', KEYS[1], KEYS[2])
return {frames, dropped}
`;
