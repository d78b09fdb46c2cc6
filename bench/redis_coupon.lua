-- Baseline 3 of issue 5, the seed design's "before": a first-come coupon
-- check done atomically inside Redis. KEYS[1] = set of users already served,
-- KEYS[2] = issued counter; ARGV[1] = user id, ARGV[2] = campaign quantity.
-- Returns 1 issued, 0 sold out, -1 limit reached (the user already has one).
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return -1
end
local issued = tonumber(redis.call('GET', KEYS[2]) or '0')
if issued >= tonumber(ARGV[2]) then
  return 0
end
redis.call('SADD', KEYS[1], ARGV[1])
redis.call('INCR', KEYS[2])
return 1
