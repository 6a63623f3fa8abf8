/*
 * store_lua.h - the Lua scripts behind store.c, one per state change. Key
 * layout: docs/redis.md. Every script that a controller runs starts by
 * checking its fencing token against the lease, so a deposed leader
 * changes nothing.
 */
#ifndef SWEEP_STORE_LUA_H
#define SWEEP_STORE_LUA_H

/* Shared helpers, prepended to every script. */
#define LUA_PRELUDE                                                        \
    "local function fenced(tok)\n"                                         \
    "  return redis.call('GET', 'sw:lease') ~= tok\n"                      \
    "end\n"                                                                \
    "local function setstate(sk, rk, new)\n"                               \
    "  local old = redis.call('HGET', rk, 'state')\n"                      \
    "  if old == new then return end\n"                                    \
    "  if old then redis.call('HINCRBY', sk, 'n:' .. old, -1) end\n"       \
    "  redis.call('HINCRBY', sk, 'n:' .. new, 1)\n"                        \
    "  redis.call('HSET', rk, 'state', new)\n"                             \
    "end\n"                                                                \
    "local function finish(sk, why, now)\n"                                \
    "  if redis.call('HGET', sk, 'state') == 'running' then\n"             \
    "    redis.call('HSET', sk, 'state', 'finished', 'finish_reason', why,\n" \
    "               'updated_at', now)\n"                                  \
    "  end\n"                                                              \
    "end\n"

/* ARGV: id, name, config, method, run_cap, grid_size, now */
#define LUA_SWEEP_CREATE                                                   \
    "local sk = 'sw:s:' .. ARGV[1]\n"                                      \
    "if redis.call('EXISTS', sk) == 1 then return 1 end\n"                 \
    "redis.call('HSET', sk, 'id', ARGV[1], 'name', ARGV[2],\n"             \
    "  'config', ARGV[3], 'method', ARGV[4], 'state', 'running',\n"        \
    "  'run_cap', ARGV[5], 'grid_size', ARGV[6], 'runs_created', 0,\n"     \
    "  'created_at', ARGV[7], 'updated_at', ARGV[7])\n"                    \
    "redis.call('ZADD', 'sw:sweeps', ARGV[7], ARGV[1])\n"                  \
    "return 0\n"

/* ARGV: id, action, now. Returns {0, new state} or {1, why} or {2}. */
#define LUA_SWEEP_CONTROL                                                  \
    "local sk = 'sw:s:' .. ARGV[1]\n"                                      \
    "local st = redis.call('HGET', sk, 'state')\n"                         \
    "if not st then return {2} end\n"                                      \
    "local a, new = ARGV[2], nil\n"                                        \
    "if a == 'pause' and st == 'running' then new = 'paused'\n"            \
    "elseif a == 'resume' and st == 'paused' then new = 'running'\n"       \
    "elseif a == 'stop' and (st == 'running' or st == 'paused') then\n"    \
    "  new = 'finished'\n"                                                 \
    "elseif a == 'cancel' and st ~= 'canceled' then new = 'canceled'\n"    \
    "end\n"                                                                \
    "if not new then return {1, 'sweep is ' .. st} end\n"                  \
    "redis.call('HSET', sk, 'state', new, 'updated_at', ARGV[3])\n"        \
    "if a == 'stop' then redis.call('HSET', sk, 'finish_reason', 'stopped') end\n" \
    "if a == 'cancel' then redis.call('HSET', sk, 'finish_reason', 'canceled') end\n" \
    "return {0, new}\n"

/* ARGV: holder, ttl_ms. Returns the new token or 0. */
#define LUA_LEASE_ACQUIRE                                                  \
    "if redis.call('EXISTS', 'sw:lease') == 1 then return 0 end\n"         \
    "local tok = redis.call('INCR', 'sw:lease:seq')\n"                     \
    "redis.call('SET', 'sw:lease', tok, 'NX', 'PX', ARGV[2])\n"            \
    "redis.call('SET', 'sw:lease:holder', ARGV[1], 'PX', ARGV[2])\n"       \
    "return tok\n"

/* ARGV: token, ttl_ms. */
#define LUA_LEASE_EXTEND                                                   \
    "if redis.call('GET', 'sw:lease') ~= ARGV[1] then return 0 end\n"      \
    "redis.call('PEXPIRE', 'sw:lease', ARGV[2])\n"                         \
    "redis.call('PEXPIRE', 'sw:lease:holder', ARGV[2])\n"                  \
    "return 1\n"

/* ARGV: token. */
#define LUA_LEASE_RELEASE                                                  \
    "if redis.call('GET', 'sw:lease') ~= ARGV[1] then return 0 end\n"      \
    "redis.call('DEL', 'sw:lease', 'sw:lease:holder')\n"                   \
    "return 1\n"

/* ARGV: token, key1, off1, key2, off2, ... */
#define LUA_OFFSETS_SAVE                                                   \
    "if fenced(ARGV[1]) then return 2 end\n"                               \
    "for i = 2, #ARGV, 2 do\n"                                             \
    "  redis.call('HSET', 'sw:offsets', ARGV[i], ARGV[i + 1])\n"           \
    "end\n"                                                                \
    "return 0\n"

/* ARGV: token, sweep, run, params, grid_index, worker, now, wseq (the
 * worker's assignment count once it has this one) */
#define LUA_RUN_CREATE                                                     \
    "if fenced(ARGV[1]) then return 2 end\n"                               \
    "local sk = 'sw:s:' .. ARGV[2]\n"                                      \
    "local cap = tonumber(redis.call('HGET', sk, 'run_cap') or '0')\n"     \
    "local made = tonumber(redis.call('HGET', sk, 'runs_created') or '0')\n" \
    "if cap > 0 and made >= cap then\n"                                    \
    "  finish(sk, 'run_cap reached', ARGV[7])\n"                           \
    "  return 4\n"                                                         \
    "end\n"                                                                \
    "if redis.call('HGET', sk, 'state') ~= 'running' then return 5 end\n"                                                                \
    "local gi = tonumber(ARGV[5])\n"                                       \
    "if gi >= 0 and redis.call('SETBIT', sk .. ':grid', gi, 1) == 1 then\n" \
    "  return 3\n"                                                         \
    "end\n"                                                                \
    "made = redis.call('HINCRBY', sk, 'runs_created', 1)\n"                \
    "local rk = 'sw:r:' .. ARGV[2] .. ':' .. ARGV[3]\n"                    \
    "redis.call('HSET', rk, 'id', ARGV[3], 'params', ARGV[4],\n"           \
    "  'attempt', 1, 'worker', ARGV[6], 'created_at', ARGV[7],\n"          \
    "  'assigned_at', ARGV[7], 'grid_index', ARGV[5], 'steps', 0,\n"       \
    "  'last_seq', -1, 'wseq', ARGV[8])\n"                                 \
    "redis.call('SET', 'sw:w:' .. ARGV[6] .. ':wseq', ARGV[8], 'PX', 604800000)\n" \
    "setstate(sk, rk, 'pending')\n"                                        \
    "redis.call('ZADD', sk .. ':runs', made, ARGV[3])\n"                   \
    "redis.call('SADD', sk .. ':live', ARGV[3])\n"                         \
    "if cap > 0 and made >= cap then finish(sk, 'run_cap reached', ARGV[7]) end\n" \
    "return 0\n"

/* ARGV: token, sweep, worker, now, wseq. Returns {0, run, params,
 * attempt}, {2}, {5} or {6}. The run starts over: the history, summary
 * and reason of the attempt before are dropped. */
#define LUA_RUN_REASSIGN                                                   \
    "if fenced(ARGV[1]) then return {2} end\n"                             \
    "local sk = 'sw:s:' .. ARGV[2]\n"                                      \
    "local st = redis.call('HGET', sk, 'state')\n"                         \
    "if st ~= 'running' and st ~= 'finished' then return {5} end\n"        \
    "local run = redis.call('LPOP', sk .. ':queue')\n"                     \
    "if not run then return {6} end\n"                                     \
    "local rk = 'sw:r:' .. ARGV[2] .. ':' .. run\n"                        \
    "local att = redis.call('HINCRBY', rk, 'attempt', 1)\n"                \
    "redis.call('HSET', rk, 'worker', ARGV[3], 'assigned_at', ARGV[4],\n"  \
    "  'last_seq', -1, 'steps', 0, 'wseq', ARGV[5])\n"                     \
    "redis.call('SET', 'sw:w:' .. ARGV[3] .. ':wseq', ARGV[5], 'PX', 604800000)\n" \
    "redis.call('HDEL', rk, 'started_at', 'ended_at', 'heartbeat_at',\n"   \
    "  'exit_code', 'signal', 'reason', 'metrics_lost', 'metrics_sent')\n" \
    "redis.call('DEL', rk .. ':hist', rk .. ':sum')\n"                                           \
    "setstate(sk, rk, 'pending')\n"                                        \
    "redis.call('SADD', sk .. ':live', run)\n"                             \
    "return {0, run, redis.call('HGET', rk, 'params'), att}\n"

/* The sweep and run ids of an event come from a message, and a run id
 * may name another key of the run: rk is then "sw:r:S:R:hist" (a list:
 * HMGET fails with WRONGTYPE, the script errors, the controller takes
 * the error for a lost Redis and steps down, and re-reads the same
 * message after every re-lead) or "sw:r:S:R:sum" (a hash whose fields
 * a metric event can make look like a run's). Only a run the sweep has
 * (run create adds each to sw:s:S:runs) is acted on; anything else is
 * ignored like a stale event. */
#define LUA_ONLY_RUNS                                                      \
    "if not redis.call('ZSCORE', sk .. ':runs', ARGV[3]) then return 1 end\n"

/* ARGV: token, sweep, run, attempt, event, worker, ts, exit_code ('' when
 * none), signal, reason ('' when none), last_metric_seq ('' when none):
 * at the end, how many metric events the worker sent (metrics_sent). An
 * event from a worker the attempt was not given to changes nothing. */
#define LUA_APPLY_LIFE                                                     \
    "if fenced(ARGV[1]) then return 2 end\n"                               \
    "local sk = 'sw:s:' .. ARGV[2]\n"                                      \
    "local rk = 'sw:r:' .. ARGV[2] .. ':' .. ARGV[3]\n"                    \
    LUA_ONLY_RUNS                                                          \
    "local r = redis.call('HMGET', rk, 'attempt', 'state', 'worker')\n"    \
    "if not r[1] or tonumber(r[1]) ~= tonumber(ARGV[4]) then return 1 end\n" \
    "if r[3] and r[3] ~= ARGV[6] then return 1 end\n"                      \
    "local st, ev, ts = r[2], ARGV[5], ARGV[7]\n"                          \
    "if st ~= 'pending' and st ~= 'running' then return 1 end\n"          \
    "if ev == 'started' or ev == 'heartbeat' then\n"                       \
    "  if st == 'pending' then\n"                                          \
    "    setstate(sk, rk, 'running')\n"                                    \
    "    redis.call('HSET', rk, 'started_at', ts, 'worker', ARGV[6])\n"    \
    "  end\n"                                                              \
    "  redis.call('HSET', rk, 'heartbeat_at', ts)\n"                       \
    "  return 0\n"                                                         \
    "end\n"                                                                \
    "if ARGV[8] ~= '' then redis.call('HSET', rk, 'exit_code', ARGV[8]) end\n" \
    "if ARGV[9] ~= '0' then redis.call('HSET', rk, 'signal', ARGV[9]) end\n" \
    "if ARGV[10] ~= '' then redis.call('HSET', rk, 'reason', ARGV[10]) end\n" \
    "redis.call('HSET', rk, 'ended_at', ts)\n"                             \
    "if ARGV[11] ~= '' then redis.call('HSET', rk, 'metrics_sent', ARGV[11]) end\n" \
    "if ev == 'preempted' then\n"                                          \
    "  setstate(sk, rk, 'preempted')\n"                                    \
    "  redis.call('RPUSH', sk .. ':queue', ARGV[3])\n"                     \
    "  return 0\n"                                                         \
    "end\n"                                                                \
    "setstate(sk, rk, ev)\n"                                               \
    "redis.call('SREM', sk .. ':live', ARGV[3])\n"                         \
    "return 0\n"

/* ARGV: token, sweep, run, attempt, reason, now. */
#define LUA_RUN_CRASH                                                      \
    "if fenced(ARGV[1]) then return 2 end\n"                               \
    "local sk = 'sw:s:' .. ARGV[2]\n"                                      \
    "local rk = 'sw:r:' .. ARGV[2] .. ':' .. ARGV[3]\n"                    \
    "local r = redis.call('HMGET', rk, 'attempt', 'state')\n"              \
    "if not r[1] or tonumber(r[1]) ~= tonumber(ARGV[4]) then return 1 end\n" \
    "if r[2] ~= 'pending' and r[2] ~= 'running' then return 1 end\n"       \
    "setstate(sk, rk, 'crashed')\n"                                        \
    "redis.call('HSET', rk, 'reason', ARGV[5], 'ended_at', ARGV[6])\n"     \
    "redis.call('RPUSH', sk .. ':queue', ARGV[3])\n"                       \
    "return 0\n"

/* ARGV: token, sweep, run, attempt, seq, event JSON, metric name ('' when
 * none), goal ('minimize'/'maximize'), target ('' when none), now, worker
 * (an event of another worker than the attempt's is ignored), then name,
 * value pairs. A metric event's seq counts the attempt's metric
 * events from 1, so one past the last one applied is the next expected:
 * a later one means the ones between were lost (a broker that dropped
 * them), counted in metrics_lost. Returns {0, lost} when applied. */
#define LUA_APPLY_METRIC                                                   \
    "if fenced(ARGV[1]) then return 2 end\n"                               \
    "local sk = 'sw:s:' .. ARGV[2]\n"                                      \
    "local rk = 'sw:r:' .. ARGV[2] .. ':' .. ARGV[3]\n"                    \
    LUA_ONLY_RUNS                                                          \
    "local r = redis.call('HMGET', rk, 'attempt', 'last_seq', 'worker')\n" \
    "if not r[1] or tonumber(r[1]) ~= tonumber(ARGV[4]) then return 1 end\n" \
    "if r[3] and r[3] ~= ARGV[11] then return 1 end\n"                     \
    "local seq, last = tonumber(ARGV[5]), tonumber(r[2] or '-1')\n"       \
    "if seq <= last then return 1 end\n"                                   \
    "local lost = seq - math.max(last, 0) - 1\n"                           \
    "if lost > 0 then redis.call('HINCRBY', rk, 'metrics_lost', lost) end\n" \
    "redis.call('RPUSH', rk .. ':hist', ARGV[6])\n"                        \
    "redis.call('HSET', rk, 'last_seq', ARGV[5])\n"                        \
    "redis.call('HINCRBY', rk, 'steps', 1)\n"                              \
    /* 100 pairs at a time: unpack() of more than about 8000 values     \
     * fails ("too many results to unpack"), which stopped the script    \
     * half-way (history kept, summary and target check skipped). */     \
    "for i = 12, #ARGV - 1, 200 do\n"                                      \
    "  redis.call('HSET', rk .. ':sum', unpack(ARGV, i, math.min(i + 199, #ARGV)))\n" \
    "end\n"                                                                \
    "if ARGV[7] ~= '' and ARGV[9] ~= '' then\n"                            \
    "  for i = 12, #ARGV - 1, 2 do\n"                                      \
    "    if ARGV[i] == ARGV[7] then\n"                                     \
    "      local v, t = tonumber(ARGV[i + 1]), tonumber(ARGV[9])\n"        \
    "      if v and ((ARGV[8] == 'maximize' and v >= t) or\n"              \
    "                (ARGV[8] ~= 'maximize' and v <= t)) then\n"           \
    "        finish(sk, 'metric.target reached', ARGV[10])\n"              \
    "      end\n"                                                          \
    "    end\n"                                                            \
    "  end\n"                                                              \
    "end\n"                                                                \
    "return {0, math.max(lost, 0)}\n"

/* ARGV: token, sweep, why, now. */
#define LUA_SWEEP_FINISH                                                   \
    "if fenced(ARGV[1]) then return 2 end\n"                               \
    "finish('sw:s:' .. ARGV[2], ARGV[3], ARGV[4])\n"                       \
    "return 0\n"

#endif
