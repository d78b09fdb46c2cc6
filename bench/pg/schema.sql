-- The PostgreSQL transactional-outbox peer of bench/run.sh (issue 13): the
-- design most teams build first. Every decision and its outbox row commit in
-- one transaction; a relay (not part of this baseline) would ship the outbox.
-- No CHECK constraints on purpose: the conditional UPDATEs must keep stock and
-- coupons right by themselves, and check.sql verifies it after the run.
CREATE TABLE stock (
  sku       int    PRIMARY KEY,
  initial   bigint NOT NULL,
  available bigint NOT NULL
);
CREATE TABLE orders (
  id         bigserial   PRIMARY KEY,
  user_id    bigint      NOT NULL,
  sku        int         NOT NULL,
  qty        int         NOT NULL,
  status     text        NOT NULL,  -- confirmed | rejected (out of stock)
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE outbox (
  id           bigserial   PRIMARY KEY,
  aggregate    text        NOT NULL,  -- order | coupon
  aggregate_id text        NOT NULL,
  type         text        NOT NULL,
  payload      jsonb       NOT NULL,
  created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE campaigns (
  code      text PRIMARY KEY,
  quantity  int  NOT NULL,
  remaining int  NOT NULL
);
CREATE TABLE coupon_grants (
  campaign   text        NOT NULL,  -- no REFERENCES campaigns: see the note above request_coupon
  user_id    bigint      NOT NULL,
  granted_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (campaign, user_id)  -- one coupon per user and campaign
);

-- One coupon request: the outbox row and the (campaign, user) row, then the
-- campaign's decrement if anything remains. A repeat (unique violation) or a
-- sold-out campaign rolls the three back (the inner block is a
-- subtransaction) and the request commits as a rejection with its own outbox
-- row. Under READ COMMITTED the UPDATE re-checks `remaining > 0` on the
-- latest row version after waiting for its lock, so the count cannot go
-- wrong; a second request of the same user waits on the first one's
-- uncommitted (campaign, user) row and then fails or, if the first was rolled
-- back, goes on.
-- coupon_grants has no foreign key to campaigns: the FOR KEY SHARE lock each
-- grant takes on the one hot campaign row (a multixact shared by every
-- client) made the flow 10x slower here (455 against ~4,400 requests/s), and
-- the peer gets its fastest correct schema.
CREATE FUNCTION request_coupon(p_campaign text, p_user bigint) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
  v_reason text;
BEGIN
  BEGIN
    INSERT INTO outbox (aggregate, aggregate_id, type, payload)
      VALUES ('coupon', p_campaign || ':' || p_user, 'CouponIssued',
              jsonb_build_object('campaign', p_campaign, 'user', p_user));
    INSERT INTO coupon_grants (campaign, user_id) VALUES (p_campaign, p_user);
    UPDATE campaigns SET remaining = remaining - 1 WHERE code = p_campaign AND remaining > 0;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'sold out' USING ERRCODE = 'raise_exception';
    END IF;
    RETURN 'issued';
  EXCEPTION
    WHEN unique_violation THEN v_reason := 'repeat';
    WHEN raise_exception THEN v_reason := 'sold_out';
  END;
  INSERT INTO outbox (aggregate, aggregate_id, type, payload)
    VALUES ('coupon', p_campaign || ':' || p_user, 'CouponRejected',
            jsonb_build_object('campaign', p_campaign, 'user', p_user, 'reason', v_reason));
  RETURN v_reason;
END $$;

-- Filled by the bench: stock (100 SKUs) and one campaign.
INSERT INTO stock SELECT g, :initial_stock, :initial_stock FROM generate_series(1, :skus) g;
INSERT INTO campaigns VALUES ('sale', :coupons, :coupons);
