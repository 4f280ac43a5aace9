-- Reference rates (DOMAIN §17) and the exit record of issue 17.
--
-- rate_series are published benchmark series (the 1-year LPR ...);
-- rate_entries their entries. Entries are append-only: a wrong entry is
-- never edited or deleted, it is corrected by a new row that names it
-- (corrects) with a reason, and a correction with no rate withdraws it.
-- The series in force is, per effective date, the latest row of its
-- correction chain. An approved exit never reads this table again: its
-- stored calculator request carries the entries it used (DOMAIN §17).
CREATE TABLE rate_series (
  code       text PRIMARY KEY CONSTRAINT rate_series_code_check CHECK (code ~ '^[A-Z][A-Z0-9_]{1,19}$'),
  name       text NOT NULL CONSTRAINT rate_series_name_check CHECK (length(btrim(name)) > 0),
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE rate_entries (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  series_code    text NOT NULL REFERENCES rate_series (code),
  effective_date date NOT NULL,
  rate           numeric(10,6),                   -- annual, 0.030000 = 3%; NULL: withdrawn by this correction
  source         text NOT NULL DEFAULT '',        -- the announcement it comes from
  corrects       bigint REFERENCES rate_entries (id) CONSTRAINT rate_entries_corrects_key UNIQUE,
  reason         text NOT NULL DEFAULT '',        -- why a correction was made
  created_by     bigint REFERENCES users (id),    -- NULL for the rows this migration seeds
  created_at     timestamptz NOT NULL,
  CONSTRAINT rate_entries_rate_check CHECK (rate IS NULL OR (rate >= 0 AND rate < 1)),
  CONSTRAINT rate_entries_reason_check CHECK (corrects IS NULL OR length(btrim(reason)) > 0),
  CONSTRAINT rate_entries_withdraw_check CHECK (rate IS NOT NULL OR corrects IS NOT NULL)
);
-- One first entry per series and date; later rows for the date correct it.
CREATE UNIQUE INDEX rate_entries_date_key ON rate_entries (series_code, effective_date) WHERE corrects IS NULL;
CREATE TRIGGER rate_entries_append_only BEFORE UPDATE OR DELETE ON rate_entries
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER rate_series_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_series
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
CREATE TRIGGER rate_entries_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON rate_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();

-- The 1-year LPR as published by the National Interbank Funding Center
-- (DOMAIN §17); an installation checks and extends it from the official
-- announcements. The 5-year series starts empty.
INSERT INTO rate_series (code, name) VALUES ('LPR1Y', '一年期LPR'), ('LPR5Y', '五年期以上LPR');
INSERT INTO rate_entries (series_code, effective_date, rate, source, created_at)
SELECT 'LPR1Y', d::date, r, '全国银行间同业拆借中心贷款市场报价利率（LPR）公告', now()
FROM (VALUES ('2019-08-20', 0.0425), ('2019-09-20', 0.0420), ('2019-11-20', 0.0415), ('2020-02-20', 0.0405),
             ('2020-04-20', 0.0385), ('2021-12-20', 0.0380), ('2022-01-20', 0.0370), ('2022-08-22', 0.0365),
             ('2023-06-20', 0.0355), ('2023-08-21', 0.0345), ('2024-07-22', 0.0335), ('2024-10-21', 0.0310),
             ('2025-05-20', 0.0300)) AS v (d, r);

-- Exits record the buyer as the calculator knows it (team, or a third
-- party through a public listing on a property-rights exchange), the
-- listing, the appraisal and the rate series the policy named.
ALTER TABLE exits DROP CONSTRAINT exits_buyer_check;
ALTER TABLE exits ADD CONSTRAINT exits_buyer_check
  CHECK (buyer_kind IN ('founders','new_investor','other','team','third_party'));
ALTER TABLE exits
  ADD COLUMN exchange              text NOT NULL DEFAULT '', -- 产权交易所
  ADD COLUMN listing_no            text NOT NULL DEFAULT '', -- 挂牌编号
  ADD COLUMN appraiser             text NOT NULL DEFAULT '', -- 评估机构
  ADD COLUMN appraisal_report_no   text NOT NULL DEFAULT '',
  ADD COLUMN appraisal_report_date date,
  ADD COLUMN appraised_value       numeric(18,2),
  ADD COLUMN appraisal_filing_no   text NOT NULL DEFAULT '', -- 国资备案号
  ADD COLUMN appraisal_doc         bigint REFERENCES documents (id),
  ADD COLUMN rate_series           text NOT NULL DEFAULT '', -- the policy's reference series, '' when none
  ADD CONSTRAINT exits_listing_check CHECK (buyer_kind <> 'third_party' OR
    (length(btrim(exchange)) > 0 AND length(btrim(listing_no)) > 0 AND market_value IS NOT NULL)),
  ADD CONSTRAINT exits_appraisal_check CHECK (appraised_value IS NULL OR (appraised_value > 0 AND
    length(btrim(appraiser)) > 0 AND length(btrim(appraisal_report_no)) > 0 AND appraisal_report_date IS NOT NULL));
