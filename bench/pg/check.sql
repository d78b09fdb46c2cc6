-- Invariants after the run, one row each: name | pass (t/f) | detail.
-- psql -v orders_tx=<pgbench orders processed> -v coupon_tx=<coupon requests processed>
\pset format unaligned
\pset tuples_only on
\pset fieldsep '|'
SELECT 'orders: stock never negative', min(available) >= 0, 'min available ' || min(available) FROM stock;
SELECT 'orders: per SKU, initial - available == units of confirmed orders', count(*) = 0,
       count(*) || ' SKUs off'
  FROM stock s LEFT JOIN (SELECT sku, sum(qty) AS units FROM orders WHERE status = 'confirmed' GROUP BY sku) o USING (sku)
 WHERE s.initial - s.available <> coalesce(o.units, 0);
SELECT 'orders: order rows == order outbox rows', o = x, o || ' orders, ' || x || ' outbox rows'
  FROM (SELECT count(*) AS o FROM orders) a, (SELECT count(*) AS x FROM outbox WHERE aggregate = 'order') b;
SELECT 'orders: every order has exactly one outbox row, of its outcome', count(*) = 0,
       count(*) || ' orders or outbox rows without their pair'
  FROM orders o
  FULL JOIN (SELECT aggregate_id, count(*) AS n, min(type) AS type FROM outbox
              WHERE aggregate = 'order' GROUP BY aggregate_id) x ON x.aggregate_id = o.id::text
 WHERE o.id IS NULL OR x.n IS DISTINCT FROM 1
    OR x.type <> CASE WHEN o.status = 'confirmed' THEN 'OrderConfirmed' ELSE 'OrderRejected' END;
SELECT 'orders: order rows == transactions pgbench counted', count(*) = :orders_tx,
       count(*) || ' rows, ' || :orders_tx || ' transactions' FROM orders;
SELECT 'coupons: issued == quantity - remaining', g = quantity - remaining,
       'issued ' || g || ', quantity ' || quantity || ', remaining ' || remaining
  FROM campaigns, (SELECT count(*) AS g FROM coupon_grants WHERE campaign = 'sale') x WHERE code = 'sale';
SELECT 'coupons: issued <= quantity, remaining >= 0', g <= quantity AND remaining >= 0,
       'issued ' || g || ' of ' || quantity
  FROM campaigns, (SELECT count(*) AS g FROM coupon_grants WHERE campaign = 'sale') x WHERE code = 'sale';
SELECT 'coupons: no user twice', count(*) = 0, count(*) || ' users with more than one'
  FROM (SELECT user_id FROM coupon_grants GROUP BY campaign, user_id HAVING count(*) > 1) d;
SELECT 'coupons: sold out (demand exceeded supply)', remaining = 0, 'remaining ' || remaining
  FROM campaigns WHERE code = 'sale';
SELECT 'coupons: CouponIssued outbox rows == grants', i = g, i || ' CouponIssued rows, ' || g || ' grants'
  FROM (SELECT count(*) AS i FROM outbox WHERE type = 'CouponIssued') a, (SELECT count(*) AS g FROM coupon_grants) b;
SELECT 'coupons: one outbox row per request (issued + rejected == requests)', n = :coupon_tx,
       n || ' rows (' || r || ' rejected), ' || :coupon_tx || ' requests'
  FROM (SELECT count(*) AS n, count(*) FILTER (WHERE type = 'CouponRejected') AS r FROM outbox WHERE aggregate = 'coupon') a;
