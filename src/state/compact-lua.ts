// The compact layout's apply script (LOOKOUT_SERIES_LAYOUT=compact; format in compact-format.ts,
// design in docs/scaling.md "Compact layout"). One call applies the samples of one job chunk for
// the entities of ONE shard: every key it touches is declared in KEYS and carries the shard's
// hash tag, so the call runs on a Redis Cluster unchanged.

export const APPLY_COMPACT_LUA = `
-- KEYS[1]: the chunk marker; then per (entity, metric) group: its series string, its id index.
-- ARGV: appNowMs, dailyRing, minHour, idCutoffHour, dailyRetentionDays, then per group:
--   n, n × (sample index, local hour index, value in thousandths, id hash (12 hex) or '').
-- Series string: '<i4I2i4' (last day M, ring size R, oldest hourly row T), R daily cells
-- '<i5I3I3' (sum, count, mask of the hours of the day whose ids have left the id window: sealed)
-- for the days (M-R, M] at position day % R, then hourly rows, newest first: '<I3I3' (day,
-- +2^23 when implicit; mask of the hours with data), then one '<i4I2' cell (sum, count) per hour
-- in the mask. Rows older than the hourly retention are dropped when T is 2 days past it. An
-- implicit row has one hour and no cell: that hour holds the whole day (the day's daily cell),
-- the usual case of a daily export.
-- Id index: '<i4i4' (base hour, lowest hour held), then 12-byte entries: 6-byte id hash,
-- '<I2' hour - base, '<i4' value. Only ids of hours >= the cutoff are held.
-- Returns {1 applied now | 0 applied before, rejects 'index:code,…'}.
local mark = redis.call('GET', KEYS[1])
if mark then return {0, mark} end
local appNow = math.floor(tonumber(ARGV[1]) / 1000)
local RD = tonumber(ARGV[2])
local minHour = tonumber(ARGV[3])
local minDay = math.floor(minHour / 24)
local cutoff = tonumber(ARGV[4])
local dret = tonumber(ARGV[5])
local DMAX, DCMAX, HMAX, HCMAX = 549755813887, 16777215, 2147483647, 65535
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

local ki, ai = 2, 6
while ai <= #ARGV do
  local n = tonumber(ARGV[ai])
  ai = ai + 1
  local sKey, iKey = KEYS[ki], KEYS[ki + 1]
  ki = ki + 2

  -- The series string as stored.
  local S = redis.call('GET', sKey)
  local Ms, Rs, Ts, rowsAt = nil, 0, nil, 0
  if S then
    Ms, Rs, Ts = struct.unpack('<i4I2i4', S)
    rowsAt = 11 + Rs * 11
  end
  local M = Ms
  local dc, dtouched = {}, {}
  local function dget(day)
    local c = dc[day]
    if c then return c end
    if S and day <= Ms and day > Ms - Rs then
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

  -- Hourly rows: headers scanned as far as needed (newest first), cells decoded when touched.
  local rowAt, order, scanP = {}, {}, rowsAt
  local function scanTo(day)
    while S and scanP <= #S do
      local last = order[#order]
      if day and last and last < day then return end
      local dd, mask = struct.unpack('<I3I3', S, scanP)
      local implicit = dd >= 8388608
      local rday = dd % 8388608
      local nc = implicit and 0 or popcount(mask)
      rowAt[rday] = { scanP + 6, mask, implicit, nc, scanP }
      order[#order + 1] = rday
      scanP = scanP + 6 + nc * 6
    end
  end
  local rows = {}
  local function hrow(day)
    local r = rows[day]
    if r then return r end
    r = {}
    scanTo(day)
    local at = rowAt[day]
    if at then
      local mask, implicit = at[2], at[3]
      -- All cells of the row in one unpack.
      local vals = implicit and {} or { struct.unpack('<' .. cellsFmt(at[4]), S, at[1]) }
      local k = 1
      for h = 0, 23 do
        if mask % 2 == 1 then
          if implicit then
            local d = dget(day)
            r[h] = { d[1], d[2] }
          else
            r[h] = { vals[k], vals[k + 1] }
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
    local c = hrow(day)[hour - day * 24]
    if c then return c[1], c[2] end
    return 0, 0
  end
  local changed = false
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
    local c = r[h] or { 0, 0 }
    c[1] = c[1] + dv
    c[2] = c[2] + dn
    if c[2] <= 0 then r[h] = nil else r[h] = c end
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

  -- The id index, searched in place (an entry starts at 9 + 12k).
  local I = redis.call('GET', iKey)
  local base, lowest = cutoff, nil
  if I then base, lowest = struct.unpack('<i4i4', I) end
  local idsChanged = false
  local function findId(key)
    if not I then return nil end
    local init = 9
    while true do
      local p = string.find(I, key, init, true)
      if not p then return nil end
      if (p - 9) % 12 == 0 then return p end
      init = p + 1
    end
  end
  -- Drop (and seal) the entries below the cutoff; rebase the rest on the cutoff.
  local function rebuildIds()
    local kept, low = {}, nil
    if I then
      for p = 9, #I, 12 do
        local off, v = struct.unpack('<I2i4', I, p + 6)
        local hour = base + off
        if hour >= cutoff then
          kept[#kept + 1] = string.sub(I, p, p + 5) .. struct.pack('<I2i4', hour - cutoff, v)
          if low == nil or hour < low then low = hour end
        else
          seal(hour)
        end
      end
    end
    base, lowest = cutoff, low
    I = #kept > 0 and (struct.pack('<i4i4', base, low) .. table.concat(kept)) or nil
    idsChanged = true
  end

  for _ = 1, n do
    local idx, hour, val, idh = ARGV[ai], tonumber(ARGV[ai + 1]), tonumber(ARGV[ai + 2]), ARGV[ai + 3]
    ai = ai + 4
    local day = math.floor(hour / 24)
    local key, old = nil, nil
    if idh ~= '' then
      key = struct.pack('>I4I2', tonumber(string.sub(idh, 1, 8), 16), tonumber(string.sub(idh, 9, 12), 16))
      local p = findId(key)
      if p then
        local off, v = struct.unpack('<I2i4', I, p + 6)
        old = { base + off, v }
      end
    end
    local code = nil
    if not inDaily(day) then
      code = 'ts_too_old'
    elseif key and not old and band(dget(day)[3], lshift(1, hour - day * 24)) ~= 0 then
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
        if hour >= cutoff and (hour < base or hour - base > 65535) then rebuildIds() end
        local p = findId(key)
        if hour >= cutoff then
          local entry = key .. struct.pack('<I2i4', hour - base, val)
          if p then
            I = string.sub(I, 1, p - 1) .. entry .. string.sub(I, p + 12)
          else
            I = (I or struct.pack('<i4i4', base, hour)) .. entry
            if lowest == nil or hour < lowest then lowest = hour end
          end
        else
          -- Older than the window: remembered no longer than this call.
          if p then I = string.sub(I, 1, p - 1) .. string.sub(I, p + 12) end
          seal(hour)
        end
        idsChanged = true
      end
    end
  end
  if lowest ~= nil and lowest < cutoff then rebuildIds() end

  local function encodeRow(day)
    local r = rows[day]
    local mask, bitv, nc, flat, only = 0, 1, 0, {}, nil
    for h = 0, 23 do
      local c = r[h]
      if c then
        mask = mask + bitv
        nc = nc + 1
        only = h
        flat[#flat + 1] = c[1]
        flat[#flat + 1] = c[2]
      end
      bitv = bitv * 2
    end
    if nc == 0 then return '' end
    if nc == 1 then
      local d = dget(day)
      if d[1] == r[only][1] and d[2] == r[only][2] then return struct.pack('<I3I3', day + 8388608, mask) end
    end
    return struct.pack('<I3I3' .. cellsFmt(nc), day, mask, unpack(flat))
  end

  if changed then
    local parts
    local tdays = {}
    for day, _ in pairs(rows) do tdays[#tdays + 1] = day end
    table.sort(tdays, function(a, b) return a > b end)
    if S and Rs == RD and M - Ms < RD and Ts >= minDay - 2 then
      -- Same ring, no rows to trim: splice the touched daily cells (and those of new days) and the
      -- touched rows into the stored bytes.
      local T = Ts
      for _, day in ipairs(tdays) do
        if day < T and next(rows[day]) ~= nil then T = day end
      end
      parts = { struct.pack('<i4I2i4', M, RD, T) }
      for day = Ms + 1, M do dtouched[day] = true end
      local pos = {}
      for day, _ in pairs(dtouched) do pos[#pos + 1] = day % RD end
      table.sort(pos)
      local p = 11
      for _, q in ipairs(pos) do
        local at = 11 + q * 11
        if at > p then parts[#parts + 1] = string.sub(S, p, at - 1) end
        local c = dget(M - ((M - q) % RD))
        parts[#parts + 1] = struct.pack('<i5I3I3', c[1], c[2], c[3])
        p = at + 11
      end
      if rowsAt > p then parts[#parts + 1] = string.sub(S, p, rowsAt - 1) end
      p = rowsAt
      for _, day in ipairs(tdays) do
        local at = rowAt[day]
        local from = scanP
        if at then
          from = at[5]
        else
          for _, od in ipairs(order) do
            if od < day then
              from = rowAt[od][5]
              break
            end
          end
        end
        if from > p then parts[#parts + 1] = string.sub(S, p, from - 1) end
        parts[#parts + 1] = encodeRow(day)
        p = at and (at[1] + at[4] * 6) or from
      end
      if p <= #S then parts[#parts + 1] = string.sub(S, p) end
    else
      -- A new last day (or ring size): rebuild, dropping days past the retentions.
      scanTo(nil)
      parts = { '' }
      for q = 0, RD - 1 do
        local c = dget(M - ((M - q) % RD))
        parts[#parts + 1] = struct.pack('<i5I3I3', c[1], c[2], c[3])
      end
      local days = {}
      for _, day in ipairs(order) do
        if not rows[day] then days[#days + 1] = day end
      end
      for _, day in ipairs(tdays) do days[#days + 1] = day end
      table.sort(days, function(a, b) return a > b end)
      local T = M
      for _, day in ipairs(days) do
        if day >= minDay then
          local row
          if rows[day] then
            row = encodeRow(day)
          else
            row = string.sub(S, rowAt[day][5], rowAt[day][1] + rowAt[day][4] * 6 - 1)
          end
          if row ~= '' then
            parts[#parts + 1] = row
            T = day
          end
        end
      end
      parts[1] = struct.pack('<i4I2i4', M, RD, T)
    end
    redis.call('SET', sKey, table.concat(parts), 'EX', math.max(1, (M + dret + 2) * 86400 - appNow))
  end
  if idsChanged then
    if not I or #I <= 8 then
      redis.call('DEL', iKey)
    else
      redis.call('SET', iKey, struct.pack('<i4i4', base, lowest or cutoff) .. string.sub(I, 9), 'EX', math.max(1, ((M or math.floor(cutoff / 24)) + dret + 2) * 86400 - appNow))
    end
  end
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

/** Mark entities dirty (ZADD NX at Redis time, as the buckets script does): KEYS dirty; ARGV entities. */
export const MARK_DIRTY_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local z = {}
for i = 1, #ARGV do
  z[#z + 1] = now
  z[#z + 1] = ARGV[i]
end
for s = 1, #z, 1000 do
  redis.call('ZADD', KEYS[1], 'NX', unpack(z, s, math.min(s + 999, #z)))
end
return #ARGV
`;
