-- The 后股 half (issue 7; DOMAIN §8–§11): trigger events, conversion with
-- its certificate, staged exits, and the endings (lapse to grant,
-- recovery, write-off, window extension). Every money action is
-- maker–checker and posts one ledger entry on approval.

CREATE TABLE trigger_events (
  id                  bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id      bigint NOT NULL REFERENCES applications (id),
  kind                text NOT NULL CONSTRAINT trigger_events_kind_check CHECK (kind IN ('financing','revenue','milestone')),
  event_date          date NOT NULL,             -- round close date, revenue period end, milestone date
  period_start        date,                      -- revenue
  investors           text NOT NULL DEFAULT '',
  new_money           numeric(18,2),             -- financing: M
  pre_money_valuation numeric(18,2),             -- financing: V
  pre_money_units     numeric(20,2),             -- financing: U before the round
  unit                text CONSTRAINT trigger_events_unit_check CHECK (unit IN ('registered_capital','shares')),
  amount              numeric(18,2),             -- revenue
  description         text NOT NULL DEFAULT '',
  evidence_doc        bigint REFERENCES documents (id), -- the round's agreement, the audit report ...
  status              text NOT NULL DEFAULT 'reported'
                        CONSTRAINT trigger_events_status_check CHECK (status IN ('reported','verified','rejected')),
  satisfies           boolean NOT NULL DEFAULT false, -- verified and meets a trigger inside the window
  reason              text NOT NULL DEFAULT '',
  reported_by         bigint NOT NULL REFERENCES users (id),
  reported_at         timestamptz NOT NULL,
  verified_by         bigint REFERENCES users (id),
  verified_at         timestamptz,
  CONSTRAINT trigger_events_financing_check CHECK (kind <> 'financing' OR
    (new_money > 0 AND pre_money_valuation > 0 AND pre_money_units > 0 AND unit IS NOT NULL)),
  CONSTRAINT trigger_events_revenue_check CHECK (kind <> 'revenue' OR amount > 0)
);
CREATE INDEX trigger_events_app_idx ON trigger_events (application_id, id);
CREATE INDEX trigger_events_open_idx ON trigger_events (status) WHERE status = 'reported';

-- The conversion: the exact calculator request and result are stored with
-- their hash; the certificate (转股测算单) is rendered from them, and
-- `server calc` on the stored request reproduces the stored result.
CREATE TABLE conversions (
  id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id     bigint NOT NULL REFERENCES applications (id),
  event_id           bigint NOT NULL REFERENCES trigger_events (id),
  request            jsonb NOT NULL,
  result             jsonb NOT NULL,
  request_text       text NOT NULL,  -- byte-exact, for recomputation
  result_text        text NOT NULL,
  digest             text NOT NULL,  -- sha256 over request_text || '\n' || result_text
  principal          numeric(18,2) NOT NULL CONSTRAINT conversions_principal_check CHECK (principal > 0),
  units              numeric(20,2) NOT NULL CONSTRAINT conversions_units_check CHECK (units > 0),
  status             text NOT NULL DEFAULT 'pending'
                       CONSTRAINT conversions_status_check CHECK (status IN ('pending','approved','rejected')),
  prepared_by        bigint NOT NULL REFERENCES users (id),
  prepared_at        timestamptz NOT NULL,
  checked_by         bigint REFERENCES users (id),
  checked_at         timestamptz,
  check_comment      text NOT NULL DEFAULT '',
  conversion_date    date NOT NULL,
  registration_date  date,           -- 工商变更
  registration_doc   bigint REFERENCES documents (id),
  entry_seq          bigint REFERENCES ledger_entries (seq),
  idempotency_key    text NOT NULL CONSTRAINT conversions_idempotency_key UNIQUE,
  CONSTRAINT conversions_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by)
);
CREATE UNIQUE INDEX conversions_one_open ON conversions (application_id) WHERE status IN ('pending','approved');

CREATE TABLE exits (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id   bigint NOT NULL REFERENCES applications (id),
  tranche_no       integer NOT NULL,
  exit_date        date NOT NULL,
  units            numeric(20,2) NOT NULL CONSTRAINT exits_units_check CHECK (units > 0),
  buyer_kind       text NOT NULL CONSTRAINT exits_buyer_check CHECK (buyer_kind IN ('founders','new_investor','other')),
  buyer            text NOT NULL DEFAULT '',
  market_value     numeric(18,2),
  cost             numeric(18,2) NOT NULL,
  interest         numeric(18,2) NOT NULL,
  proceeds         numeric(18,2) NOT NULL,
  concession       numeric(18,2) NOT NULL,
  gain             numeric(18,2) NOT NULL,
  request_text     text NOT NULL,
  result_text      text NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
                     CONSTRAINT exits_status_check CHECK (status IN ('pending','approved','rejected')),
  prepared_by      bigint NOT NULL REFERENCES users (id),
  prepared_at      timestamptz NOT NULL,
  checked_by       bigint REFERENCES users (id),
  checked_at       timestamptz,
  entry_seq        bigint REFERENCES ledger_entries (seq),
  idempotency_key  text NOT NULL CONSTRAINT exits_idempotency_key UNIQUE,
  CONSTRAINT exits_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by)
);
CREATE UNIQUE INDEX exits_one_pending ON exits (application_id) WHERE status = 'pending';
CREATE UNIQUE INDEX exits_tranche_key ON exits (application_id, tranche_no) WHERE status <> 'rejected';

-- Endings and other approved money actions after funding.
CREATE TABLE endings (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id   bigint NOT NULL REFERENCES applications (id),
  kind             text NOT NULL CONSTRAINT endings_kind_check CHECK (kind IN ('grant','repay','receipt','extend','write_off')),
  amount           numeric(18,2),
  terms            jsonb,           -- extend: the new terms version
  reason           text NOT NULL CONSTRAINT endings_reason_check CHECK (length(btrim(reason)) > 0),
  evidence_doc     bigint REFERENCES documents (id),
  value_date       date NOT NULL,
  status           text NOT NULL DEFAULT 'pending'
                     CONSTRAINT endings_status_check CHECK (status IN ('pending','approved','rejected')),
  prepared_by      bigint NOT NULL REFERENCES users (id),
  prepared_at      timestamptz NOT NULL,
  checked_by       bigint REFERENCES users (id),
  checked_at       timestamptz,
  entry_seq        bigint REFERENCES ledger_entries (seq),
  idempotency_key  text NOT NULL CONSTRAINT endings_idempotency_key UNIQUE,
  CONSTRAINT endings_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by)
);
CREATE UNIQUE INDEX endings_one_pending ON endings (application_id) WHERE status = 'pending';
