-- pgbench script: one coupon request = one call of request_coupon().
\set uid random(1, :users)
SELECT request_coupon('sale', :uid);
