// The one script a check runs on Redis: denylist lookup and every rate-limit bucket of the check, atomically,
// on Redis's clock. The token bucket mirrors src/limits/bucket.ts, the rest src/limits/memory-store.ts.
//
// KEYS: [deny:jti key if ARGV[1]=1] [deny:sub key if ARGV[2]=1], then per rule three keys sharing one hash
//       tag: the bucket, the rule's override for this key value, the rule's penalty for this key value.
// ARGV: hasJti, hasSub, iat ('' when the token has none), deadline (ms, Redis's clock), then per rule:
//       limit, periodSeconds, cost (tokens this request takes), shadow (1: never refuses), penaltyMs (0: no
//       penalty), penaltyFactor (limit fraction during a penalty; 0 blocks).
// Reply: {3} deadline passed (nothing read or written: the sidecar has answered without this reply already) |
//        {1} jti revoked | {2} subject revoked |
//        {0, then per rule: allowed, remaining, resetSeconds, retryAfterSeconds, limit in force, flags}
//        flags: 1 a penalty holds this key, 2 this check started one.
// Buckets are written only when every rule that is not in shadow mode allows, so a refused request spends no
// rule's budget; a refusal by a rule with a penalty starts the penalty.
// Numbers are stored with %.17g: tostring() keeps 14 digits, too few for a microsecond clock.
export const checkScript = `
-- Redis >= 5 replicates script effects already; older servers need this before TIME is followed by writes.
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
-- A command that waited in a stalled server's socket past the sidecar's timeout must not spend a token.
if now > tonumber(ARGV[4]) * 1000 then return {3} end
local hasJti = tonumber(ARGV[1])
local hasSub = tonumber(ARGV[2])
local iat = tonumber(ARGV[3])
local k = 1
if hasJti == 1 then
  if redis.call('EXISTS', KEYS[k]) == 1 then return {1} end
  k = k + 1
end
if hasSub == 1 then
  local cutoff = redis.call('GET', KEYS[k])
  if cutoff then
    cutoff = tonumber(cutoff)
    -- a token without iat cannot show it was issued after the cut-off
    if cutoff == nil or iat == nil or iat <= cutoff then return {2} end
  end
  k = k + 1
end
local reply = {0}
local writes = {}
local penalties = {}
local allAllowed = true
local a = 5
for i = k, #KEYS, 3 do
  local limit = tonumber(ARGV[a])
  local periodUs = tonumber(ARGV[a + 1]) * 1000000
  local cost = tonumber(ARGV[a + 2])
  local shadow = ARGV[a + 3] == '1'
  local penaltyMs = tonumber(ARGV[a + 4])
  local penaltyFactor = tonumber(ARGV[a + 5])
  a = a + 6
  local override = tonumber(redis.call('GET', KEYS[i + 1]))
  if override then limit = override end
  local flags = 0
  local penaltyLeftMs = 0
  if penaltyMs > 0 then
    penaltyLeftMs = redis.call('PTTL', KEYS[i + 2])
    if penaltyLeftMs > 0 then
      flags = 1
      limit = math.floor(limit * penaltyFactor)
    end
  end
  local allowed = false
  local after = 0
  local reset = 0
  local retry = 0
  if limit <= 0 then
    -- requests_per_unit 0, an override of 0, or a blocking penalty: always over
    if flags == 1 then retry = math.ceil(penaltyLeftMs / 1000) else retry = math.ceil(periodUs / 1000000) end
  else
    local tokens = limit
    local state = redis.call('GET', KEYS[i])
    if state then
      local stored, updatedAt = string.match(state, '^(%S+) (%S+)$')
      if stored then
        local elapsed = math.max(0, now - tonumber(updatedAt))
        tokens = math.min(limit, tonumber(stored) + elapsed * limit / periodUs)
      end
    end
    local usPerToken = periodUs / limit
    allowed = tokens >= cost
    after = tokens
    if allowed then
      after = tokens - cost
      writes[#writes + 1] = {KEYS[i], string.format('%.17g %.17g', after, now),
        math.ceil((limit - after) * usPerToken / 1000) + 1}
    elseif cost > limit then
      retry = math.ceil(periodUs / 1000000)
    else
      retry = math.ceil((cost - tokens) * usPerToken / 1000000)
    end
    reset = math.ceil((limit - after) * usPerToken / 1000000)
  end
  if not allowed and not shadow then
    allAllowed = false
    if penaltyMs > 0 and flags == 0 then
      penalties[#penalties + 1] = {KEYS[i + 2], penaltyMs}
      flags = 2
      if penaltyFactor <= 0 then retry = math.max(retry, math.ceil(penaltyMs / 1000)) end
    end
  end
  reply[#reply + 1] = allowed and 1 or 0
  reply[#reply + 1] = math.floor(after)
  reply[#reply + 1] = reset
  reply[#reply + 1] = retry
  reply[#reply + 1] = limit
  reply[#reply + 1] = flags
end
if allAllowed then
  for _, w in ipairs(writes) do redis.call('SET', w[1], w[2], 'PX', w[3]) end
end
for _, p in ipairs(penalties) do redis.call('SET', p[1], '1', 'PX', p[2]) end
return reply
`;

// Subject revocation keeps the latest cut-off: an older revocation arriving late must not shorten a newer one.
// KEYS: deny:sub key. ARGV: before (unix seconds).
export const revokeSubjectScript = `
local current = tonumber(redis.call('GET', KEYS[1]))
local before = tonumber(ARGV[1])
if current == nil or before > current then redis.call('SET', KEYS[1], ARGV[1]) end
return 1
`;

// Gives back what a check took from each bucket, for a check Cluster refused in another slot after these
// buckets had paid (see redis-check.ts). The refill time is kept, so the next check computes the refill as
// before. KEYS: bucket keys of one slot. ARGV: limit, cost per key.
export const refundScript = `
for i = 1, #KEYS do
  local state = redis.call('GET', KEYS[i])
  if state then
    local stored, updatedAt = string.match(state, '^(%S+) (%S+)$')
    if stored then
      local tokens = math.min(tonumber(ARGV[2 * i - 1]), tonumber(stored) + tonumber(ARGV[2 * i]))
      redis.call('SET', KEYS[i], string.format('%.17g %s', tokens, updatedAt), 'KEEPTTL')
    end
  end
end
return #KEYS
`;

// Failed-authentication throttling: a token bucket of `limit` failures per period for one key value; the
// failure that finds it empty blocks the key for blockSeconds.
// KEYS: failure bucket, block key (one hash tag). ARGV: limit, periodSeconds, blockMs.
// Reply: 1 when this failure started a block, else 0.
export const authFailureScript = `
if redis.replicate_commands then redis.replicate_commands() end
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000000 + tonumber(time[2])
local limit = tonumber(ARGV[1])
local periodUs = tonumber(ARGV[2]) * 1000000
local tokens = limit
local state = redis.call('GET', KEYS[1])
if state then
  local stored, updatedAt = string.match(state, '^(%S+) (%S+)$')
  if stored then
    tokens = math.min(limit, tonumber(stored) + math.max(0, now - tonumber(updatedAt)) * limit / periodUs)
  end
end
if tokens >= 1 then
  tokens = tokens - 1
  redis.call('SET', KEYS[1], string.format('%.17g %.17g', tokens, now), 'PX',
    math.ceil((limit - tokens) * periodUs / limit / 1000) + 1)
  return 0
end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('SET', KEYS[2], '1', 'PX', tonumber(ARGV[3]))
return 1
`;
