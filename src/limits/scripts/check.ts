// The one script a check runs on Redis: denylist lookup and every rate-limit bucket of the check, atomically,
// on Redis's clock. The token bucket mirrors src/limits/bucket.ts.
//
// KEYS: [deny:jti key if ARGV[1]=1] [deny:sub key if ARGV[2]=1] rate-limit keys...
// ARGV: hasJti, hasSub, iat ('' when the token has none), deadline (ms, Redis's clock), then limit and
//       periodSeconds per rate-limit key.
// Reply: {3} deadline passed (nothing read or written: the sidecar has answered without this reply already) |
//        {1} jti revoked | {2} subject revoked |
//        {0, allowed, remaining, resetSeconds, retryAfterSeconds, ...one group of four per rate-limit key}
// Buckets are written only when every rule allows, so a refused request spends no rule's budget.
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
local allAllowed = true
local a = 5
for i = k, #KEYS do
  local limit = tonumber(ARGV[a])
  local periodUs = tonumber(ARGV[a + 1]) * 1000000
  a = a + 2
  local tokens = limit
  local state = redis.call('GET', KEYS[i])
  if state then
    local stored, updatedAt = string.match(state, '^(%S+) (%S+)$')
    if stored then
      local elapsed = math.max(0, now - tonumber(updatedAt))
      tokens = math.min(limit, tonumber(stored) + elapsed * limit / periodUs)
    end
  end
  local allowed = tokens >= 1
  local after = tokens
  if allowed then after = tokens - 1 else allAllowed = false end
  local usPerToken = periodUs / limit
  local retry = 0
  if not allowed then retry = math.ceil((1 - tokens) * usPerToken / 1000000) end
  reply[#reply + 1] = allowed and 1 or 0
  reply[#reply + 1] = math.floor(after)
  reply[#reply + 1] = math.ceil((limit - after) * usPerToken / 1000000)
  reply[#reply + 1] = retry
  writes[#writes + 1] = {KEYS[i], string.format('%.17g %.17g', after, now),
    math.ceil((limit - after) * usPerToken / 1000) + 1}
end
if allAllowed then
  for _, w in ipairs(writes) do redis.call('SET', w[1], w[2], 'PX', w[3]) end
end
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

// Gives back one token per key, for a check Cluster refused in another slot after these buckets had paid
// (see redis-check.ts). The refill time is kept, so the next check computes the refill as before.
// KEYS: rate-limit keys of one slot. ARGV: limit, periodSeconds per key.
export const refundScript = `
for i = 1, #KEYS do
  local state = redis.call('GET', KEYS[i])
  if state then
    local stored, updatedAt = string.match(state, '^(%S+) (%S+)$')
    if stored then
      local tokens = math.min(tonumber(ARGV[2 * i - 1]), tonumber(stored) + 1)
      redis.call('SET', KEYS[i], string.format('%.17g %s', tokens, updatedAt), 'KEEPTTL')
    end
  end
end
return #KEYS
`;
