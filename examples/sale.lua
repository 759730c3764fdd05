#!lua
-- A sale script following StockSim's Lua contract v1 (README, "Your own Lua script"); run it with
-- `stocksim run --strategy script --script examples/sale.lua`.
--
-- Called as:
--   EVALSHA sha N   KEY1..KEYN             UNITS1..UNITSN ORDER   (no ledger)
--   EVALSHA sha N+2 KEY1..KEYN LEDGER RUN  UNITS1..UNITSN ORDER   (with StockSim's ledger)
-- The two are told apart by #KEYS == #ARGV + 1 (a ledger) or #KEYS == #ARGV - 1 (none).
-- Replies: {"sold", left1..leftN}, {"refused", left1..leftN} (nothing taken), {"recorded"} (order already in the
-- ledger, nothing taken). Every check runs before the first write, so a refusal or an error writes nothing.

local n = #ARGV - 1
local order = ARGV[#ARGV]
local ledger, run
if #KEYS == n + 2 then
  ledger, run = KEYS[n + 1], KEYS[n + 2]
elseif #KEYS ~= n then
  return redis.error_reply('ARGS expected N stock keys (and optionally a ledger and a run key) and N units and an order id')
end

-- A resent order (its reply was lost) that already sold: say so, take nothing.
if ledger and redis.call('HEXISTS', ledger, order .. '|' .. KEYS[1]) == 1 then
  return {'recorded'}
end

local units, left, short = {}, {}, false
for i = 1, n do
  local q = tonumber(ARGV[i])
  if not q or q <= 0 or q ~= math.floor(q) then
    return redis.error_reply('ARGS units for ' .. KEYS[i] .. ' must be a positive integer, not ' .. tostring(ARGV[i]))
  end
  local v = redis.call('GET', KEYS[i])
  if not v then return redis.error_reply('NOSTOCK the stock key ' .. KEYS[i] .. ' does not exist') end
  local c = tonumber(v)
  if not c or c ~= math.floor(c) then
    return redis.error_reply('NOTINT the stock key ' .. KEYS[i] .. ' holds ' .. v .. ', not an integer')
  end
  units[i], left[i] = q, c
  if c < q then short = true end
end
if short then
  return {'refused', unpack(left)}
end

-- All checks passed: take every line, and record the sale in the same atomic step.
for i = 1, n do
  left[i] = redis.call('DECRBY', KEYS[i], units[i])
end
if ledger then
  for i = 1, n do
    redis.call('HSETNX', ledger, order .. '|' .. KEYS[i], units[i] .. '/' .. n)
  end
  redis.call('HINCRBY', run, 'ledger_writes', n)
end
return {'sold', unpack(left)}
