-- wrk script for bid placement and its bare baseline.
--
--   wrk -t2 -c32 -d20s --latency -s bench/wrk/bid.lua http://127.0.0.1:PORT -- \
--       PAIRS_FILE TEMPLATE_FILE MODE NTHREADS
--
-- PAIRS_FILE has one "token<TAB>task_id" line per request: a bearer token pre-issued to a
-- solver and a published task that solver has no live bid on, so every request may be a
-- valid 201. Each wrk thread takes every NTHREADS-th line and never reuses a pair unless
-- the file runs out (reported as "wrapped"). MODE "bid" posts to /tasks/{id}/bids;
-- MODE "bare" posts the same body and headers to /bench/bare. TEMPLATE_FILE is the JSON
-- body with three %d: the price and two milestone amounts that sum to it.
-- done() prints one line "WRK_JSON {...}" with counts, status codes and percentiles.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

local items, n, idx, template, mode

function init(args)
  local pairs_file, template_file, nthreads = args[1], args[2], tonumber(args[4])
  mode = args[3]
  local f = assert(io.open(template_file, "r"))
  template = f:read("*a")
  f:close()
  items = {}
  local line_no = 0
  for line in io.lines(pairs_file) do
    if line_no % nthreads == tid then
      local token, task = line:match("^(%S+)\t(%d+)$")
      items[#items + 1] = { "/tasks/" .. task .. "/bids", "Bearer " .. token }
    end
    line_no = line_no + 1
  end
  n = #items
  idx = 0
  wrapped = 0
  statuses = {}
  samples = {}
end

function request()
  idx = idx + 1
  if idx > n then
    idx = 1
    wrapped = wrapped + 1
  end
  local it = items[idx]
  local price = 1000000 + (idx % 500) * 10000
  local first = math.floor(price * 0.4 / 100) * 100
  local body = string.format(template, price, first, price - first)
  local path = it[1]
  if mode == "bare" then
    path = "/bench/bare"
  end
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/json",
    ["Authorization"] = it[2],
  }, body)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if status >= 300 and #samples < 3 then
    samples[#samples + 1] = string.sub(body or "", 1, 300)
  end
end

local function json_string(s)
  s = string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end)
  return '"' .. s .. '"'
end

function done(summary, latency, requests)
  local agg, wrapped_total, errs = {}, 0, {}
  for _, t in ipairs(threads) do
    for code, count in pairs(t:get("statuses")) do
      agg[code] = (agg[code] or 0) + count
    end
    wrapped_total = wrapped_total + t:get("wrapped")
    for _, s in ipairs(t:get("samples")) do
      errs[#errs + 1] = json_string(s)
    end
  end
  local codes = {}
  for code, count in pairs(agg) do
    codes[#codes + 1] = string.format('"%d":%d', code, count)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests":%d,"duration_us":%d,"bytes":%d,' ..
    '"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},' ..
    '"latency_us":{"min":%d,"mean":%.1f,"stdev":%.1f,"max":%d,' ..
    '"p50":%d,"p75":%d,"p90":%d,"p95":%d,"p99":%d,"p999":%d},' ..
    '"statuses":{%s},"wrapped":%d,"error_samples":[%s]}\n',
    summary.requests, summary.duration, summary.bytes,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency.min, latency.mean, latency.stdev, latency.max,
    latency:percentile(50), latency:percentile(75), latency:percentile(90),
    latency:percentile(95), latency:percentile(99), latency:percentile(99.9),
    table.concat(codes, ","), wrapped_total, table.concat(errs, ",")))
end
