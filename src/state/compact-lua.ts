// The compact layout's apply script (LOOKOUT_SERIES_LAYOUT=compact; format in compact-format.ts,
// design in docs/scaling.md "Compact layout"). One call applies the samples of one job chunk for
// the entities of ONE shard: every key it touches is declared in KEYS and carries the shard's
// hash tag, so the call runs on a Redis Cluster unchanged.

export const APPLY_COMPACT_LUA = `
-- KEYS[1]: the chunk marker; then per (entity, metric) group: its series string, its id index.
-- ARGV: appNowMs, dailyRing, minHour, idCutoffHour, dailyRetentionDays, holdDay (today: an id
-- older than the window arriving today is held until the cutoff passes today; -1: such an id seals
-- its hour at once, as lookout migrate replays them), then per group:
--   n, k, n × (sample index, local hour index, value in thousandths, id hash (12 hex) or '').
-- KEYS per group: series, id index, then series and id index of k sibling metrics (same family): an
-- id new to its own index but held by a sibling moves here (the buckets layout's global ids do the
-- same): it is taken out of the sibling's cells and index after the group (a removal group).
-- Series string: '<i4I2i4' (last day M, ring size R, offset of the newest hourly row + 2^30, + 2^29 once
-- its expiry is on whole weeks), R
-- daily cells '<i5I3I3' (sum, count, mask of the hours of the day whose ids have left the id
-- window: sealed) for the days (M-R, M] at position day % R, then hourly rows, OLDEST first:
-- '<I3I3' (day, +2^23 when implicit; mask of the hours with data), then one '<i4I2' cell (sum,
-- count) per hour in the mask. An implicit row has one hour and no cell: that hour holds the
-- whole day (the day's daily cell), the usual case of a daily export. Rows older than the hourly
-- retention are dropped when the string is rebuilt (new rows outgrow the padding, an older row is
-- touched…); until then readers pass over them (CompactSeries reads no hour older than the last
-- day − the hourly retention − 2 days).
-- (A header whose third field is below 2^30 is the earlier format, rows newest first and that
-- field the oldest row's day: read whole and rebuilt in this one.)
-- Id index: '<i4i4i4' (base hour + 2^30, lowest hour held, hold day), then 12-byte entries:
-- 6-byte id hash, '<I2' hour - base, '<i4' value. Held: the ids of hours >= the cutoff, and the
-- older ones while the hold day (the last day an id older than the window arrived) is not older
-- than the cutoff's day: a backfill's ids are kept a window from their arrival. An id dropped
-- seals its hour. (A header whose first field is below 2^30 is the earlier format, '<i4i4' with
-- no hold: entries from byte 9, rewritten in this one on the next change.)
-- Writes touch only the bytes that change: the daily cells (SETRANGE), the header, the newest
-- hourly row and the rows of new days (one SETRANGE at the end of the string), new ids (APPEND),
-- replaced ids (SETRANGE). A call that touches an older row, shrinks the newest, moves the ring
-- by R days or more, or must trim rows reads the whole string and rewrites it.
-- Returns {1 applied now | 0 applied before, rejects 'index:code,…'}.
local mark = redis.call('GET', KEYS[1])
if mark then return {0, mark} end
local appNow = math.floor(tonumber(ARGV[1]) / 1000)
local RD = tonumber(ARGV[2])
local minHour = tonumber(ARGV[3])
local minDay = math.floor(minHour / 24)
local cutoff = tonumber(ARGV[4])
local dret = tonumber(ARGV[5])
local holdArg = tonumber(ARGV[6])
local cutoffDay = math.floor(cutoff / 24)
local DMAX, DCMAX, HMAX, HCMAX = 549755813887, 16777215, 2147483647, 65535
local OFF = 1073741824
-- Added to the header's third field: the key's expiry is the deadline below (whole weeks). Without
-- it (a key written before), the next write sets it.
local WK = 536870912
-- The day a key expires: the retention + 2 days after its last day, rounded up to a whole week, so
-- that a new day moves it (and costs an EXPIRE) once a week, not every day.
local function deadline(day)
  return math.ceil((day + dret + 2) / 7) * 7
end
-- Bytes read past the ring with the header: a daily-fed series (rows of 6 bytes a day) comes whole.
local WHOLE = 256
local band, bor, lshift, rshift = bit.band, bit.bor, bit.lshift, bit.rshift
local rejects = {}

local CELLS = {}
local function cellsFmt(nc)
  local f = CELLS[nc]
  if not f then
    f = string.rep('i4I2', nc)
    CELLS[nc] = f
  end
  return f
end

local function popcount(m)
  m = m - band(rshift(m, 1), 0x555555)
  m = band(m, 0x333333) + band(rshift(m, 2), 0x333333)
  m = band(m + rshift(m, 4), 0x0F0F0F)
  return (m % 256) + (math.floor(m / 256) % 256) + math.floor(m / 65536)
end

-- Bytes a string of n bytes may grow to within its allocation: jemalloc's size class of the sds
-- (header and NUL), less the header, rounded down to whole units. A write that stays within the
-- stored length never reallocates; one past it would double the allocation (sds greedy growth).
local function roomy(n, unit)
  local hdr = n < 252 and 4 or 6
  local s = n + hdr
  local class
  if s <= 128 then
    class = math.ceil(s / 16) * 16
  else
    local step = 2 ^ (math.floor(math.log(s - 1) / math.log(2)) - 2)
    class = math.ceil(s / step) * step
  end
  local cap = class - ((class - 4) < 256 and 4 or 6)
  if cap < n then return n end
  return n + math.floor((cap - n) / unit) * unit
end
local Z6, Z11, Z12 = string.rep('\\0', 6), string.rep('\\0', 11), string.rep('\\0', 12)

-- One stored hourly row at position p of str: {str, first cell position, mask, implicit, cells, p}.
local function rowHeader(str, p)
  local dd, mask = struct.unpack('<I3I3', str, p)
  local implicit = dd >= 8388608
  return dd % 8388608, { str, p + 6, mask, implicit, implicit and 0 or popcount(mask), p }
end

-- The state of the (entity, metric) group being applied (the functions below read it).
local weekly, sWhole
local n, sKey, iKey, S, Ms, Rs, Ts, rowsAt, newestAt, newestDay, full, room, rowAt, M, dc, dtouched, rows, changed, I, base, lowest, cap, storedLen, storedLowest, idsChanged, idsWhole, over, adds, E0, hold, storedHold

local function loadFull()
  if full then return end
  full = true
  if not Ms then return end
  if not sWhole then S = redis.call('GET', sKey) end
  rowAt = {}
  local p = rowsAt
  -- Rows end at the string's end or at the padding (zero rows: day 0, no hours).
  while p + 5 <= #S and string.sub(S, p, p + 5) ~= Z6 do
    local day, at = rowHeader(S, p)
    rowAt[day] = at
    p = p + 6 + at[5] * 6
  end
end

local function dget(day)
  local c = dc[day]
  if c then return c end
  if Ms and day <= Ms and day > Ms - Rs then
    local sum, cnt, sealed = struct.unpack('<i5I3I3', S, 11 + (day % Rs) * 11)
    c = { sum, cnt, sealed }
  else
    c = { 0, 0, 0 }
  end
  dc[day] = c
  return c
end

local function inDaily(day)
  return M == nil or day > M - RD
end

local function hrow(day)
  local r = rows[day]
  if r then return r end
  if newestDay and day < newestDay then loadFull() end
  r = {}
  local at = rowAt[day]
  if at then
    local mask, implicit = at[3], at[4]
    -- All cells of the row in one unpack.
    local vals = implicit and {} or { struct.unpack('<' .. cellsFmt(at[5]), at[1], at[2]) }
    local k = 1
    for h = 0, 23 do
      if mask % 2 == 1 then
        if implicit then
          local d = dget(day)
          r[h], r[h + 24] = d[1], d[2]
        else
          r[h], r[h + 24] = vals[k], vals[k + 1]
          k = k + 2
        end
      end
      mask = math.floor(mask / 2)
      if mask == 0 then break end
    end
  end
  rows[day] = r
  return r
end

local function hget(hour)
  local day = math.floor(hour / 24)
  local r, h = hrow(day), hour - day * 24
  return r[h] or 0, r[h + 24] or 0
end

local function addDaily(day, dv, dn)
  if not inDaily(day) then return end
  if day >= minDay then hrow(day) end -- an implicit row reads the daily cell: decode it first
  local c = dget(day)
  c[1] = c[1] + dv
  c[2] = c[2] + dn
  if c[2] <= 0 then
    c[1] = 0
    c[2] = 0
  end
  dtouched[day] = true
  if M == nil or day > M then M = day end
  changed = true
end

local function addHourly(hour, dv, dn)
  if hour < minHour then return end
  local day = math.floor(hour / 24)
  local r = hrow(day)
  local h = hour - day * 24
  local n = (r[h + 24] or 0) + dn
  if n <= 0 then
    r[h], r[h + 24] = nil, nil
  else
    r[h], r[h + 24] = (r[h] or 0) + dv, n
  end
  changed = true
end

-- An id that leaves the window seals its hour: a sample with an id for that hour can no longer
-- be told from a re-send of a forgotten one (id_window_passed).
local function seal(hour)
  local day = math.floor(hour / 24)
  if not inDaily(day) then return end
  local c = dget(day)
  local hb = lshift(1, hour - day * 24)
  if band(c[3], hb) == 0 then
    c[3] = bor(c[3], hb)
    dtouched[day] = true
    if M == nil or day > M then M = day end
    changed = true
  end
end

local function findId(key)
  local e = over[key]
  if e ~= nil then
    if e and not e[4] then return e end
    return nil
  end
  e = false
  if I then
    local init = E0
    while true do
      local p = string.find(I, key, init, true)
      if not p or p > storedLen then break end
      if (p - E0) % 12 == 0 then
        local off, v = struct.unpack('<I2i4', I, p + 6)
        e = { p, base + off, v }
        break
      end
      init = p + 1
    end
  end
  over[key] = e
  return e or nil
end

-- Every entry held now: each(key, hour, value).
local function eachId(each)
  if I then
    for p = E0, storedLen, 12 do
      local key = string.sub(I, p, p + 5)
      local e = over[key]
      if e == nil then
        local off, v = struct.unpack('<I2i4', I, p + 6)
        each(key, base + off, v)
      elseif e and not e[4] then
        each(key, e[2], e[3])
      end
    end
  end
  for _, key in ipairs(adds) do
    local e = over[key]
    if e and not e[4] then each(key, e[2], e[3]) end
  end
end

-- Whether an entry of an hour is held: in the window, or older while the hold lasts (and its day
-- is still in the daily ring).
local function held(hour)
  return hour >= cutoff or (hold >= cutoffDay and inDaily(math.floor(hour / 24)))
end

-- The lowest hour the daily ring holds: the base of an index that holds ids older than the window.
local function ringFloor()
  return M and (M - RD + 1) * 24 or cutoff
end

-- Whether the index holds entries to drop now: a small index (a daily feed's, up to 12 entries)
-- keeps them up to 3 days more, so it is rewritten every 4 days rather than daily. (An entry kept
-- longer only keeps replacing; its hour is sealed when it goes.)
local function stale()
  if lowest == nil or held(lowest) then return false end
  return lowest < cutoff - 72 or storedLen - E0 + 1 + 12 * #adds > 144
end

-- Drop (and seal) the entries no longer held; rebase the rest on the cutoff, or on the ring's first
-- hour when older ids are held (or low is about to be added), so a backfill rebases once.
local function rebuildIds(low)
  local kept = {}
  eachId(function(key, hour, v)
    if held(hour) then
      kept[#kept + 1] = { key, hour, v }
      if low == nil or hour < low then low = hour end
    else
      seal(hour)
    end
  end)
  base = cutoff
  if low and low < cutoff then base = math.min(low, ringFloor()) end
  local body = {}
  for i, e in ipairs(kept) do body[i] = e[1] .. struct.pack('<I2i4', e[2] - base, e[3]) end
  lowest = #kept > 0 and low or nil
  I = #kept > 0 and (struct.pack('<i4i4i4', base + OFF, lowest, hold) .. table.concat(body)) or nil
  E0 = 13
  storedLen = I and #I or 0
  cap = storedLen
  over, adds = {}, {}
  idsChanged, idsWhole = true, true
end

-- The sibling metric (its number) whose id index holds this id hash, if any (the indexes are read
-- once per group). sibKeys: {series, id index} of each sibling.
local sibKeys, sibI
local function inSibling(key)
  if #sibKeys == 0 then return nil end
  if not sibI then
    sibI = {}
    for j, sk in ipairs(sibKeys) do
      local s = redis.call('GET', sk[2])
      if s then sibI[#sibI + 1] = { s, struct.unpack('<i4', s) >= OFF and 13 or 9, j } end
    end
  end
  for _, x in ipairs(sibI) do
    local s, e0 = x[1], x[2]
    local init = e0
    while true do
      local p = string.find(s, key, init, true)
      if not p then break end
      if (p - e0) % 12 == 0 then return x[3] end
      init = p + 1
    end
  end
  return nil
end

local function encodeRow(day)
  local r = rows[day]
  local mask, bitv, nc, flat, only = 0, 1, 0, {}, nil
  for h = 0, 23 do
    local cnt = r[h + 24]
    if cnt then
      mask = mask + bitv
      nc = nc + 1
      only = h
      flat[#flat + 1] = r[h]
      flat[#flat + 1] = cnt
    end
    bitv = bitv * 2
  end
  if nc == 0 then return '' end
  if nc == 1 then
    local d = dget(day)
    if d[1] == r[only] and d[2] == r[only + 24] then return struct.pack('<I3I3', day + 8388608, mask) end
  end
  return struct.pack('<I3I3' .. cellsFmt(nc), day, mask, unpack(flat))
end

local function cellAt(q)
  local c = dget(M - ((M - q) % RD))
  return struct.pack('<i5I3I3', c[1], c[2], c[3])
end

-- Removals of ids a group moved from a sibling metric ({series, id index, keys}), applied right after it.
local later = {}
local ki, ai = 2, 7
while true do
  local removals = nil
  if #later > 0 then
    -- First the removals the last group left, so the next group finds its ids where they are now.
    local g = table.remove(later)
    sKey, iKey, removals = g[1], g[2], g[3]
    n = #removals
    sibKeys, sibI = {}, nil
  elseif ai <= #ARGV then
    n = tonumber(ARGV[ai])
    local k = tonumber(ARGV[ai + 1])
    ai = ai + 2
    sKey, iKey = KEYS[ki], KEYS[ki + 1]
    sibKeys, sibI = {}, nil
    for j = 1, k do sibKeys[j] = { KEYS[ki + 2 * j], KEYS[ki + 2 * j + 1] } end
    ki = ki + 2 + 2 * k
  else
    break
  end
  local moves = {}

  -- The series: header, ring and the oldest row's header in one GETRANGE, the newest row in
  -- another; the whole string only when needed (loadFull).
  S = redis.call('GETRANGE', sKey, 0, 15 + RD * 11 + WHOLE)
  Ms, Rs, Ts, rowsAt, newestAt, newestDay, full, room, weekly = nil, 0, nil, 0, nil, nil, false, 0, false
  rowAt = {}
  sWhole = #S < 16 + RD * 11 + WHOLE -- the first read held the whole string (a daily-fed series)
  if #S == 0 then
    S = nil
  else
    local third
    Ms, Rs, third = struct.unpack('<i4I2i4', S)
    weekly = third >= OFF + WK
    rowsAt = 11 + Rs * 11
    if Rs ~= RD or third < OFF then
      loadFull()
    elseif #S >= rowsAt + 5 then
      Ts = struct.unpack('<I3', S, rowsAt) % 8388608
      newestAt = (third - OFF) % WK + 1
      -- The newest row and the padding after it (room for new rows without reallocating).
      local tail
      if sWhole then
        tail = string.sub(S, newestAt)
      else
        tail = redis.call('GETRANGE', sKey, newestAt - 1, -1)
      end
      local day, at = rowHeader(tail, 1)
      if Ts == 0 or day == 0 then
        loadFull()
      else
        at[6] = newestAt
        newestDay = day
        rowAt[day] = at
        room = #tail - 6 - at[5] * 6
      end
    end
  end
  M = Ms
  dc, dtouched = {}, {}

  -- Hourly rows, decoded when touched (r[h]: the sum of hour h, r[h + 24]: its count); a row older
  -- than the newest stored one needs the whole string.
  rows = {}
  changed = false

  -- The id index: the stored entries searched in place (an entry starts at 9 + 12k; they end at
  -- the padding, zero entries), this call's changes in over (key -> {stored position or false,
  -- hour, value, removed, changed}; false: not held) and adds (new keys, in order). Written back
  -- as the changed entries (SETRANGE) and the new ones over the padding, or whole after a removal
  -- or a rebase, or when the padding is used up.
  I = redis.call('GET', iKey)
  base, lowest, hold, E0 = cutoff, nil, -1, 13
  cap = I and #I or 0
  storedLen = cap
  local v1 = false
  if I then
    base, lowest = struct.unpack('<i4i4', I)
    if base >= OFF then
      base = base - OFF
      hold = struct.unpack('<i4', I, 9)
    else
      v1, E0 = true, 9
    end
    local init = E0
    while true do
      local z = string.find(I, Z12, init, true)
      if not z then break end
      if (z - E0) % 12 == 0 then
        storedLen = z - 1
        break
      end
      init = z + 1
    end
  end
  storedLowest, storedHold = lowest, hold
  idsChanged, idsWhole, over, adds = false, I == nil or v1, {}, {}
  -- Entries no longer held are dropped (their hours sealed) before this call's samples are looked up.
  if stale() then rebuildIds() end

  for r = 1, n do
    if removals then
      -- An id this call moved to a sibling metric: out of this one's cells and index.
      local e = findId(removals[r])
      if e then
        addDaily(math.floor(e[2] / 24), -e[3], -1)
        addHourly(e[2], -e[3], -1)
        e[4] = true
        idsChanged, idsWhole = true, true
      end
    else
    local idx, hour, val, idh = ARGV[ai], tonumber(ARGV[ai + 1]), tonumber(ARGV[ai + 2]), ARGV[ai + 3]
    ai = ai + 4
    local day = math.floor(hour / 24)
    local key, old = nil, nil
    if idh ~= '' then
      key = struct.pack('>I4I2', tonumber(string.sub(idh, 1, 8), 16), tonumber(string.sub(idh, 9, 12), 16))
      local e = findId(key)
      if e then old = { e[2], e[3] } end
    end
    local code, moved = nil, nil
    -- An id new here but held by a sibling metric moves here (it is a known sample: never sealed).
    if key and not old then moved = inSibling(key) end
    if not inDaily(day) then
      code = 'ts_too_old'
    elseif key and not old and not moved and band(dget(day)[3], lshift(1, hour - day * 24)) ~= 0 then
      code = 'id_window_passed'
    elseif val > HMAX and (key or hour >= minHour) then
      code = 'value_out_of_range'
    else
      local oday = old and math.floor(old[1] / 24)
      local d = dget(day)
      local ds, dn = d[1] + val, d[2] + 1
      if old and oday == day then
        ds = ds - old[2]
        dn = dn - 1
      end
      if ds > DMAX or dn > DCMAX then code = 'value_out_of_range' end
      if hour >= minHour then
        local hs, hn = hget(hour)
        hs, hn = hs + val, hn + 1
        if old and old[1] == hour then
          hs = hs - old[2]
          hn = hn - 1
        end
        if hs > HMAX or hn > HCMAX then code = 'value_out_of_range' end
      end
    end
    if code then
      rejects[#rejects + 1] = idx .. ':' .. code
    else
      if old then
        addDaily(math.floor(old[1] / 24), -old[2], -1)
        addHourly(old[1], -old[2], -1)
      end
      addDaily(day, val, 1)
      addHourly(hour, val, 1)
      if key then
        -- An id of the window's two oldest days or older: the ids older than the window are held a
        -- window from its arrival (a backfill; not when migrating).
        if hour < cutoff + 48 and holdArg >= 0 and hold < holdArg then hold = holdArg end
        local keep = held(hour)
        if keep and (hour < base or hour - base > 65535) then rebuildIds(hour) end
        local e = findId(key)
        if keep then
          if e then
            e[2], e[3], e[5] = hour, val, true
            if lowest == nil or hour < lowest then lowest = hour end
          else
            local prev = over[key]
            if prev then
              -- Removed earlier in this call: back in its place.
              prev[2], prev[3], prev[4], prev[5] = hour, val, nil, true
            else
              over[key] = { false, hour, val }
              adds[#adds + 1] = key
            end
            if lowest == nil or hour < lowest then lowest = hour end
          end
        else
          -- Older than the window: remembered no longer than this call.
          if e then
            e[4] = true
            idsWhole = true
          end
          seal(hour)
        end
        idsChanged = true
        if moved then
          local m = moves[moved]
          if not m then
            m = {}
            moves[moved] = m
          end
          m[#m + 1] = key
        end
      end
    end
    end
  end
  if stale() then rebuildIds() end


  if changed then
    local ttl = math.max(1, deadline(M) * 86400 - appNow)
    local patched = false
    if not full and Ms and M - Ms < RD then
      -- The rows from the newest stored one (if touched) on: the only rows this call may write,
      -- over the newest row and into the padding after it.
      local tdays = {}
      for day, _ in pairs(rows) do tdays[#tdays + 1] = day end
      table.sort(tdays)
      local from, oldLen, last = rowsAt, 0, nil
      if newestDay then
        oldLen = 6 + rowAt[newestDay][5] * 6
        from = newestAt
        if not rows[newestDay] then
          from = newestAt + oldLen
          oldLen = 0
          last = newestAt
        end
      end
      local parts, p = {}, from
      for _, day in ipairs(tdays) do
        local b = encodeRow(day)
        if b ~= '' then
          parts[#parts + 1] = b
          last = p
          p = p + #b
        end
      end
      if p - from <= oldLen + room and (last or not newestDay) then
        patched = true
        if p - from < oldLen then parts[#parts + 1] = string.rep(Z6, (oldLen - (p - from)) / 6) end
        -- The header, each run of adjacent touched daily cells (those of new days too) and the
        -- rows, each in its own write: only the bytes that change go to the AOF and the replicas.
        for day = Ms + 1, M do dtouched[day] = true end
        local pos = {}
        for day, _ in pairs(dtouched) do pos[#pos + 1] = day % RD end
        table.sort(pos)
        last = last or rowsAt
        -- (The header only when it changes: not for another hour of the same day.)
        local head = struct.pack('<i4I2i4', M, RD, last - 1 + OFF + WK)
        if head ~= string.sub(S, 1, 10) then redis.call('SETRANGE', sKey, 0, head) end
        local q = 1
        while q <= #pos do
          local cells, r = { cellAt(pos[q]) }, q
          while r < #pos and pos[r + 1] <= pos[r] + 1 do
            r = r + 1
            if pos[r] ~= pos[r - 1] then cells[#cells + 1] = cellAt(pos[r]) end
          end
          redis.call('SETRANGE', sKey, 10 + pos[q] * 11, table.concat(cells))
          q = r + 1
        end
        if #parts > 0 then redis.call('SETRANGE', sKey, from - 1, table.concat(parts)) end
        if not weekly or deadline(M) ~= deadline(Ms) then redis.call('EXPIRE', sKey, ttl) end
      end
    end
    if not patched then
      -- Rebuild the whole string, dropping days past the retentions, with room for new rows.
      loadFull()
      local parts = { '' }
      -- The ring: cells decoded in this call packed again, the others copied as they are stored
      -- (or zero: a day the ring no longer holds).
      local same = Ms and Rs == RD
      for q = 0, RD - 1 do
        local day = M - ((M - q) % RD)
        if dc[day] or not same then
          parts[#parts + 1] = cellAt(q)
        elseif day <= Ms and day > Ms - RD then
          parts[#parts + 1] = string.sub(S, 11 + q * 11, 21 + q * 11)
        else
          parts[#parts + 1] = Z11
        end
      end
      local days = {}
      for day, _ in pairs(rowAt) do
        if not rows[day] then days[#days + 1] = day end
      end
      for day, _ in pairs(rows) do days[#days + 1] = day end
      table.sort(days)
      local p, last = 11 + RD * 11, nil
      for _, day in ipairs(days) do
        if day >= minDay then
          local row
          if rows[day] then
            row = encodeRow(day)
          else
            local at = rowAt[day]
            row = string.sub(at[1], at[6], at[2] + at[5] * 6 - 1)
          end
          if row ~= '' then
            parts[#parts + 1] = row
            last = p
            p = p + #row
          end
        end
      end
      parts[1] = struct.pack('<i4I2i4', M, RD, (last or p) - 1 + OFF + WK)
      if last then parts[#parts + 1] = string.rep(Z6, (roomy(p - 1, 6) - (p - 1)) / 6) end
      redis.call('SET', sKey, table.concat(parts), 'EX', ttl)
    end
  end
  if idsChanged then
    local ttl = math.max(1, deadline(M or cutoffDay) * 86400 - appNow)
    if idsWhole or storedLen + 12 * #adds > cap then
      -- The stored entries copied in runs (they are encoded on the current base), the changed ones
      -- packed in their place, the removed ones left out; then the new ones.
      local body, len, at = {}, 12, {}
      for _, e in pairs(over) do
        if e and e[1] and (e[4] or e[5]) then at[#at + 1] = e end
      end
      table.sort(at, function(a, b) return a[1] < b[1] end)
      local from = E0
      local function piece(str)
        body[#body + 1] = str
        len = len + #str
      end
      for _, e in ipairs(at) do
        if e[1] > from then piece(string.sub(I, from, e[1] - 1)) end
        if not e[4] then piece(string.sub(I, e[1], e[1] + 5) .. struct.pack('<I2i4', e[2] - base, e[3])) end
        from = e[1] + 12
      end
      if I and storedLen >= from then piece(string.sub(I, from, storedLen)) end
      for _, key in ipairs(adds) do
        local e = over[key]
        if e and not e[4] then piece(key .. struct.pack('<I2i4', e[2] - base, e[3])) end
      end
      if len == 12 then
        redis.call('DEL', iKey)
      else
        body[#body + 1] = string.rep(Z12, (roomy(len, 12) - len) / 12)
        redis.call('SET', iKey, struct.pack('<i4i4i4', base + OFF, lowest or cutoff, hold) .. table.concat(body), 'EX', ttl)
      end
    else
      for key, e in pairs(over) do
        if e and e[1] and e[5] then redis.call('SETRANGE', iKey, e[1] - 1, key .. struct.pack('<I2i4', e[2] - base, e[3])) end
      end
      if #adds > 0 then
        local body = {}
        for _, key in ipairs(adds) do
          local e = over[key]
          body[#body + 1] = key .. struct.pack('<I2i4', e[2] - base, e[3])
        end
        redis.call('SETRANGE', iKey, storedLen, table.concat(body))
      end
      if lowest ~= storedLowest or hold ~= storedHold then redis.call('SETRANGE', iKey, 4, struct.pack('<i4i4', lowest, hold)) end
      if deadline(M or cutoffDay) ~= deadline(Ms or cutoffDay) then redis.call('EXPIRE', iKey, ttl) end
    end
  end
  for j, keys in pairs(moves) do later[#later + 1] = { sibKeys[j][1], sibKeys[j][2], keys } end
end

local out = table.concat(rejects, ',')
redis.call('SET', KEYS[1], out, 'EX', 172800)
return {1, out}
`;

/** Samples per metric and day of one applied job chunk, added to the (untagged) feed counter once: KEYS feed, marker; ARGV day, count, … */
export const FEED_ONCE_LUA = `
if redis.call('SET', KEYS[2], '1', 'NX', 'EX', 172800) == false then return 0 end
for i = 1, #ARGV, 2 do redis.call('HINCRBY', KEYS[1], ARGV[i], ARGV[i + 1]) end
return 1
`;

/**
 * Mark entities dirty at Redis time less a lead (live marks, DirtyMarks in series-layout.ts), as the
 * buckets script does; a mark only ever moves earlier (ZADD LT). KEYS dirty; ARGV lead ms, entities.
 */
export const MARK_DIRTY_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) - tonumber(ARGV[1])
local z = {}
for i = 2, #ARGV do
  z[#z + 1] = now
  z[#z + 1] = ARGV[i]
end
for s = 1, #z, 1000 do
  redis.call('ZADD', KEYS[1], 'LT', unpack(z, s, math.min(s + 999, #z)))
end
return #ARGV - 1
`;

/** KEYS[1] a shard's apply lease, ARGV[1] the holder's token: released only by its holder (a lapsed lease taken by another is left). */
export const RELEASE_LEASE_LUA = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;
