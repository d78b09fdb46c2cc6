-- pgbench script: one order = one transaction. Conditional stock decrement,
-- the order row and its outbox row; out of stock commits a rejected order
-- (and its outbox row). :skus and :users come from pgbench -D.
\set sku random(1, :skus)
\set qty random(1, 3)
\set uid random(1, :users)
BEGIN;
WITH s AS (UPDATE stock SET available = available - :qty WHERE sku = :sku AND available >= :qty RETURNING sku) SELECT count(*) AS ok FROM s \gset
WITH o AS (INSERT INTO orders (user_id, sku, qty, status) VALUES (:uid, :sku, :qty, CASE WHEN :ok = 1 THEN 'confirmed' ELSE 'rejected' END) RETURNING id, user_id, sku, qty, status) INSERT INTO outbox (aggregate, aggregate_id, type, payload) SELECT 'order', id::text, CASE WHEN status = 'confirmed' THEN 'OrderConfirmed' ELSE 'OrderRejected' END, jsonb_build_object('order_id', id, 'user', user_id, 'sku', sku, 'qty', qty) FROM o;
COMMIT;
