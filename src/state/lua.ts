// Lua scripts run inside Redis (atomic per call). Kept as strings so the build ships them.

export const APPLY_SAMPLES_LUA = `
-- Apply one chunk of a job's samples to per-entity buckets, atomically.
-- ARGV: prefix, chunkKey, (unused), minDay, minHour, dailyCap, hourlyCap, idsCap,
--       then per entity: entity, mark '1'|'0', n, and n × (metric, agg 's'|'a', day, hour, value, id or '').
-- Values are integers in thousandths (fixed point): HINCRBY is exact and cheaper than floats.
-- chunkKey names this chunk of this job: a retried job (worker crashed mid-way) skips the chunks
-- it already applied, so samples without an id are never counted twice.
-- Entities with mark '1' join the dirty set in the same step, so a crash after applying never
-- loses their evaluation, and an entity being judged while new samples land is judged again.
-- Returns 1 applied, 0 already applied.
local P = ARGV[1]
if redis.call('SET', ARGV[2], '1', 'NX', 'EX', 172800) == false then return 0 end
-- Dirty marks carry Redis server time: drainers on any machine compare them with the same clock.
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local minDay = tonumber(ARGV[4])
local minHour = tonumber(ARGV[5])
local dailyCap = tonumber(ARGV[6])
local hourlyCap = tonumber(ARGV[7])
local idsCap = tonumber(ARGV[8])

local function dropBucket(key, field, value, counted)
  redis.call('HINCRBY', key, field, -value)
  if counted then
    local c = redis.call('HINCRBY', key, field .. 'n', -1)
    if c <= 0 then redis.call('HDEL', key, field, field .. 'n') end
  end
end

local function prune(key, cap, min)
  if redis.call('HLEN', key) <= cap then return end
  local fields = redis.call('HKEYS', key)
  local old = {}
  for _, f in ipairs(fields) do
    local k = tonumber(string.match(f, '^%d+'))
    if k and k < min then old[#old + 1] = f end
  end
  for s = 1, #old, 500 do
    redis.call('HDEL', key, unpack(old, s, math.min(s + 499, #old)))
  end
end

local dirty = {}
-- Samples per (metric, day) across all entities: the feed volume absence rules check.
local feed = {}
local i = 9
while i <= #ARGV do
  local e = ARGV[i]
  local mark = ARGV[i + 1]
  local n = tonumber(ARGV[i + 2])
  i = i + 3
  local base = P .. ':d:{' .. e .. '}:'
  local hbase = P .. ':h:{' .. e .. '}:'
  local idsKey = P .. ':ids:{' .. e .. '}'
  local newDay = false
  for s = 0, n - 1 do
    local b = i + s * 6
    local m, agg, day, hour, val, id = ARGV[b], ARGV[b + 1], ARGV[b + 2], ARGV[b + 3], ARGV[b + 4], ARGV[b + 5]
    local dkey = base .. m
    local hkey = hbase .. m
    if id ~= '' then
      local packed = m .. '|' .. agg .. '|' .. day .. '|' .. hour .. '|' .. val
      -- Most ids are new: one HSETNX. A repeated id takes the slow path and replaces its value.
      if redis.call('HSETNX', idsKey, id, packed) == 0 then
        local old = redis.call('HGET', idsKey, id)
        local om, oagg, oday, ohour, oval = string.match(old, '^(.-)|(%a)|(%d+)|(%d+)|(.+)$')
        local ov = tonumber(oval)
        dropBucket(base .. om, oday, ov, true)
        if tonumber(ohour) >= minHour then
          dropBucket(hbase .. om, ohour, ov, oagg == 'a')
        end
        redis.call('HSET', idsKey, id, packed)
      end
    end
    redis.call('HINCRBY', dkey, day, val)
    local fk = m .. '|' .. day
    feed[fk] = (feed[fk] or 0) + 1
    if redis.call('HINCRBY', dkey, day .. 'n', 1) == 1 then
      newDay = true
      -- The first sample of a new day is the moment to trim what fell out of retention
      -- (every 7th day is enough to keep the hashes bounded).
      if tonumber(day) % 7 == 0 then
        prune(dkey, dailyCap, minDay)
        prune(hkey, hourlyCap, minHour)
      end
    end
    if tonumber(hour) >= minHour then
      redis.call('HINCRBY', hkey, hour, val)
      if agg == 'a' then redis.call('HINCRBY', hkey, hour .. 'n', 1) end
    end
  end
  if newDay and redis.call('HLEN', idsKey) > idsCap then
    local all = redis.call('HGETALL', idsKey)
    local old = {}
    for s = 1, #all, 2 do
      local d = tonumber(string.match(all[s + 1], '|%a|(%d+)|'))
      if d and d < minDay then old[#old + 1] = all[s] end
    end
    for s = 1, #old, 500 do
      redis.call('HDEL', idsKey, unpack(old, s, math.min(s + 499, #old)))
    end
  end
  if mark == '1' then
    dirty[#dirty + 1] = now
    dirty[#dirty + 1] = e
  end
  i = i + n * 6
end
for fk, c in pairs(feed) do
  local m, day = string.match(fk, '^(.*)|(%d+)$')
  redis.call('HINCRBY', P .. ':feed:' .. m, day, c)
end
for s = 1, #dirty, 500 do
  redis.call('ZADD', P .. ':dirty', 'NX', unpack(dirty, s, math.min(s + 499, #dirty)))
end
return 1
`;

/**
 * Claim up to ARGV[2] dirty entities for evaluation with a lease of ARGV[1] ms (server time),
 * taking only those dirty for at least ARGV[3] ms (debounce: samples arriving close together
 * are judged once). Leases that expired (a worker died mid-evaluation) go back first.
 * KEYS: dirty, evaluating. Returns [entity, dirtySinceMs, …].
 */
export const CLAIM_DIRTY_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, e in ipairs(expired) do
  redis.call('ZREM', KEYS[2], e)
  redis.call('ZADD', KEYS[1], 'NX', now, e)
end
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local out = {}
for i = 1, #items, 2 do
  redis.call('ZREM', KEYS[1], items[i])
  redis.call('ZADD', KEYS[2], now + tonumber(ARGV[1]), items[i])
  out[#out + 1] = items[i]
  out[#out + 1] = items[i + 1]
end
return out
`;

export const COMMIT_ALERTS_LUA = `
-- Commit one entity's alert changes if its alerts did not change since they were read
-- (optimistic concurrency on the entity's alert version), and append the transitions to the
-- event outbox stream. Newer samples need no check here: they re-mark the entity dirty, so a
-- verdict from slightly older data is followed by a fresh one.
-- ARGV: prefix, entity, expectedVersion, now, then n × (fingerprint, recordJson, open '1'|'0', eventJson or '').
-- Returns 1 committed, 0 conflict (caller re-reads and re-evaluates).
local P = ARGV[1]
local tag = '{' .. ARGV[2] .. '}'
local vkey = P .. ':v:' .. tag
local current = redis.call('GET', vkey) or '0'
if current ~= ARGV[3] then return 0 end
local now = ARGV[4]
for i = 5, #ARGV, 4 do
  local fp = ARGV[i]
  redis.call('HSET', P .. ':alerts', fp, ARGV[i + 1])
  if ARGV[i + 2] == '1' then
    redis.call('SADD', P .. ':alerts:open', fp)
    redis.call('ZREM', P .. ':alerts:resolved', fp)
  else
    redis.call('SREM', P .. ':alerts:open', fp)
    redis.call('ZADD', P .. ':alerts:resolved', now, fp)
  end
  if ARGV[i + 3] ~= '' then
    redis.call('XADD', P .. ':events', '*', 'event', ARGV[i + 3])
  end
end
redis.call('INCR', vkey)
return 1
`;
