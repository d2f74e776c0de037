// Lua scripts run inside Redis (atomic per call). Kept as strings so the build ships them.

export const APPLY_SAMPLES_LUA = `
-- Apply one chunk of a job's samples, atomically. Buckets are keyed by metric and local day
-- (hour), with entities as fields, so a chunk of a daily export touches a handful of keys and
-- every write is one multi-field command: RedisClient does per-field work, not per-call work.
-- ARGV: prefix, chunkKey, dailyRetentionDays, hourlyRetentionDays, minHour, now (epoch ms, the
--       deployment's clock), D, L, lead ms, D × entity to mark dirty (the first L live: stamped
--       lead ms before Redis's now; DirtyMarks in series-layout.ts), then groups: metric,
--       agg 's'|'a', day, n, n × (entity, hour, value, id or '').
-- Values are integers in thousandths (fixed point), stored with their sample count as 'sum,count'
-- (the count tells "no data" from 0 and averages gauges). Keys:
--   P:d:<metric>:<day>   entity → 'sum,count'
--   P:h:<metric>:<hour>  entity → 'sum,count'
--   P:ids:<day>          id → 'value|hour|agg|metric|entity' (found on its day or the days either side)
-- Each key expires after the retention, so memory stays flat without scans.
-- chunkKey marks this chunk of this job: a retried job skips what it already applied.
-- Returns 1 applied, 0 already applied.
local P = ARGV[1]
if redis.call('SET', ARGV[2], '1', 'NX', 'EX', 172800) == false then return 0 end
local dret = tonumber(ARGV[3])
local hret = tonumber(ARGV[4])
local minHour = tonumber(ARGV[5])
-- Keys expire by the deployment's clock, not Redis's: a key of local day d lives until that clock
-- reaches day d + retention + 2, so a replay or test clock far from Redis time keeps what it accepted.
local appNow = math.floor(tonumber(ARGV[6]) / 1000)
local nDirty = tonumber(ARGV[7])
local nLive = tonumber(ARGV[8])
local lead = tonumber(ARGV[9])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

local groups = {}
local i = 10 + nDirty
while i <= #ARGV do
  local n = tonumber(ARGV[i + 3])
  groups[#groups + 1] = { m = ARGV[i], agg = ARGV[i + 1], day = ARGV[i + 2], n = n, at = i + 4 }
  i = i + 4 + n * 4
end

-- 1. Earlier values of the ids in this chunk: one HMGET per day, then the day before and after
-- for ids not found (a corrected export whose time zone was wrong moves a sample by a day).
local idsByDay = {}
for _, g in ipairs(groups) do
  local list = idsByDay[g.day]
  if not list then list = {}; idsByDay[g.day] = list end
  for k = g.at + 3, g.at + g.n * 4 - 1, 4 do
    if ARGV[k] ~= '' then list[#list + 1] = ARGV[k] end
  end
end
local function lookup(day, list, into, whereInto)
  local missing = {}
  for s = 1, #list, 1000 do
    local part = { unpack(list, s, math.min(s + 999, #list)) }
    local vals = redis.call('HMGET', P .. ':ids:' .. day, unpack(part))
    for j = 1, #part do
      if vals[j] then
        into[part[j]] = vals[j]
        whereInto[part[j]] = day
      else
        missing[#missing + 1] = part[j]
      end
    end
  end
  return missing
end
local prevByDay, whereByDay, movedIds = {}, {}, {}
for day, list in pairs(idsByDay) do
  local prev, where = {}, {}
  prevByDay[day] = prev
  whereByDay[day] = where
  local missing = lookup(day, list, prev, where)
  for _, other in ipairs({ tostring(tonumber(day) - 1), tostring(tonumber(day) + 1) }) do
    if #missing == 0 then break end
    missing = lookup(other, missing, prev, where)
  end
end

-- 2. Deltas: sums[metric][slot][entity], counts likewise.
local dsum, dcnt, hsum, hcnt, newIds, feed = {}, {}, {}, {}, {}, {}
local function bucket(tbl, m, slot)
  local bm = tbl[m]
  if not bm then bm = {}; tbl[m] = bm end
  local b = bm[slot]
  if not b then b = {}; bm[slot] = b end
  return b
end
for _, g in ipairs(groups) do
  local m, agg, day = g.m, g.agg, g.day
  local ds, dc = bucket(dsum, m, day), bucket(dcnt, m, day)
  local prev = prevByDay[day]
  local where = whereByDay[day]
  local ids = newIds[day]
  if not ids then ids = {}; newIds[day] = ids end
  local hs = hsum[m]
  if not hs then hs = {}; hsum[m] = hs end
  for k = g.at, g.at + g.n * 4 - 1, 4 do
    local e, hour, val, id = ARGV[k], ARGV[k + 1], tonumber(ARGV[k + 2]), ARGV[k + 3]
    if id ~= '' then
      local old = prev[id]
      if old then
        local ov, oh, oagg, om, oe = string.match(old, '^(%-?%d+)|(%d+)|(%a)|([^|]*)|(.*)$')
        ov = tonumber(ov)
        local oday = where[id]
        if oday ~= day then
          -- The id lived on another day: its value leaves that day, the id moves here.
          movedIds[#movedIds + 1] = oday
          movedIds[#movedIds + 1] = id
          where[id] = day
        end
        local ods, odc = bucket(dsum, om, oday), bucket(dcnt, om, oday)
        ods[oe] = (ods[oe] or 0) - ov
        odc[oe] = (odc[oe] or 0) - 1
        if tonumber(oh) >= minHour then
          local ohs, ohc = bucket(hsum, om, oh), bucket(hcnt, om, oh)
          ohs[oe] = (ohs[oe] or 0) - ov
          ohc[oe] = (ohc[oe] or 0) - 1
        end
      end
      local packed = ARGV[k + 2] .. '|' .. hour .. '|' .. agg .. '|' .. m .. '|' .. e
      prev[id] = packed
      where[id] = day
      ids[#ids + 1] = id
      ids[#ids + 1] = packed
    end
    ds[e] = (ds[e] or 0) + val
    dc[e] = (dc[e] or 0) + 1
    if tonumber(hour) >= minHour then
      local hb = hs[hour]
      if not hb then hb = {}; hs[hour] = hb end
      hb[e] = (hb[e] or 0) + val
      local hc = bucket(hcnt, m, hour)
      hc[e] = (hc[e] or 0) + 1
    end
  end
  local fm = feed[m]
  if not fm then fm = {}; feed[m] = fm end
  fm[day] = (fm[day] or 0) + g.n
end

-- 3. Read-modify-write each touched key once. A bucket whose sample count falls to zero (an id
-- moved to another entity or metric) is removed, so "no data" stays distinguishable from 0.
local function write(key, deltas, cdeltas, expireAt)
  local ents = {}
  for e, _ in pairs(deltas) do ents[#ents + 1] = e end
  for s = 1, #ents, 1000 do
    local part = { unpack(ents, s, math.min(s + 999, #ents)) }
    local cur = redis.call('HMGET', key, unpack(part))
    local set, gone = {}, {}
    for j, e in ipairs(part) do
      local sum, cnt = 0, 0
      if cur[j] then
        local a, b = string.match(cur[j], '^(%-?%d+),(%-?%d+)$')
        sum, cnt = tonumber(a), tonumber(b)
      end
      cnt = cnt + (cdeltas[e] or 0)
      if cnt <= 0 then
        gone[#gone + 1] = e
      else
        set[#set + 1] = e
        set[#set + 1] = string.format('%d,%d', sum + deltas[e], cnt)
      end
    end
    if #set > 0 then redis.call('HSET', key, unpack(set)) end
    if #gone > 0 then redis.call('HDEL', key, unpack(gone)) end
  end
  redis.call('EXPIRE', key, math.max(1, expireAt - appNow), 'NX')
end
for m, byDay in pairs(dsum) do
  for day, deltas in pairs(byDay) do
    write(P .. ':d:' .. m .. ':' .. day, deltas, dcnt[m][day], (tonumber(day) + dret + 2) * 86400)
  end
end
for m, byHour in pairs(hsum) do
  for hour, deltas in pairs(byHour) do
    write(P .. ':h:' .. m .. ':' .. hour, deltas, hcnt[m][hour], (math.floor(tonumber(hour) / 24) + hret + 2) * 86400)
  end
end
for day, l in pairs(newIds) do
  if #l > 0 then
    local key = P .. ':ids:' .. day
    for s = 1, #l, 1000 do
      redis.call('HSET', key, unpack(l, s, math.min(s + 999, #l)))
    end
    redis.call('EXPIRE', key, math.max(1, (tonumber(day) + dret + 2) * 86400 - appNow), 'NX')
  end
end
for s = 1, #movedIds, 2 do
  redis.call('HDEL', P .. ':ids:' .. movedIds[s], movedIds[s + 1])
end
-- Samples per (metric, day) across all entities: the feed volume absence rules check.
for m, byDay in pairs(feed) do
  for day, c in pairs(byDay) do redis.call('HINCRBY', P .. ':feed:' .. m, day, c) end
end
if nDirty > 0 then
  local z = {}
  for k = 10, 9 + nDirty do
    z[#z + 1] = k < 10 + nLive and now - lead or now
    z[#z + 1] = ARGV[k]
  end
  -- A mark only moves earlier: a live mark pulls forward a backfill's.
  for s = 1, #z, 1000 do
    redis.call('ZADD', P .. ':dirty', 'LT', unpack(z, s, math.min(s + 999, #z)))
  end
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
-- Each step is one command over a slice of members (not one per member): a claim of a thousand
-- entities costs a handful of calls.
local SLICE = 500
local expired = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for s = 1, #expired, SLICE do
  local e = math.min(s + SLICE - 1, #expired)
  redis.call('ZREM', KEYS[2], unpack(expired, s, e))
  local z = {}
  for i = s, e do
    z[#z + 1] = now
    z[#z + 1] = expired[i]
  end
  redis.call('ZADD', KEYS[1], 'NX', unpack(z))
end
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[3]), 'WITHSCORES', 'LIMIT', 0, tonumber(ARGV[2]))
local lease = now + tonumber(ARGV[1])
for s = 1, #items, 2 * SLICE do
  local e = math.min(s + 2 * SLICE - 1, #items)
  local members, z = {}, {}
  for i = s, e, 2 do
    members[#members + 1] = items[i]
    z[#z + 1] = lease
    z[#z + 1] = items[i]
  end
  redis.call('ZREM', KEYS[1], unpack(members))
  redis.call('ZADD', KEYS[2], unpack(z))
end
return items
`;

export const COMMIT_ALERTS_LUA = `
-- Commit one entity's alert changes if its alerts did not change since they were read
-- (optimistic concurrency on the entity's alert version), and append the transitions to the
-- event outbox stream. Newer samples need no check here: they re-mark the entity dirty, so a
-- verdict from slightly older data is followed by a fresh one.
-- KEYS[1]: the entity's version key (it routes the call on a cluster; every key built below from
-- the prefix is in its slot: the control plane's one hash tag there, any slot on a standalone Redis).
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
