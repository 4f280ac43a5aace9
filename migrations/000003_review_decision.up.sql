-- Expert review, funding decision, public notice and agreement (issue 4;
-- DOMAIN §6, §7). Disbursement reads applications.approved_amount and the
-- signed agreement's terms.

CREATE TABLE expert_profiles (
  user_id        bigint PRIMARY KEY REFERENCES users (id),
  employer       text NOT NULL DEFAULT '',
  employer_uscc  text NOT NULL DEFAULT '',
  sectors        text[] NOT NULL DEFAULT '{}',
  tied_enterprises bigint[] NOT NULL DEFAULT '{}', -- declared ties (回避)
  active         boolean NOT NULL DEFAULT true,
  updated_at     timestamptz NOT NULL
);

-- One row per expert drawn for an application. The draw's seed is kept so
-- the draw can be shown again.
CREATE TABLE panel_assignments (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  expert_id      bigint NOT NULL REFERENCES users (id),
  method         text NOT NULL CONSTRAINT panel_method_check CHECK (method IN ('random','manual','replacement')),
  draw_seed      bigint,
  status         text NOT NULL DEFAULT 'assigned'
                   CONSTRAINT panel_status_check CHECK (status IN ('assigned','declared','recused','submitted')),
  recusal_reason text NOT NULL DEFAULT '',
  declared_at    timestamptz,
  assigned_by    bigint NOT NULL REFERENCES users (id),
  assigned_at    timestamptz NOT NULL,
  CONSTRAINT panel_assignments_unique UNIQUE (application_id, expert_id)
);
CREATE INDEX panel_assignments_expert_idx ON panel_assignments (expert_id, status);

CREATE TABLE reviews (
  assignment_id    bigint PRIMARY KEY REFERENCES panel_assignments (id),
  scores           jsonb NOT NULL,   -- {"criterion code": "score"}
  comments         jsonb NOT NULL,   -- {"criterion code": "comment"}
  overall_comment  text NOT NULL DEFAULT '',
  recommendation   text NOT NULL CONSTRAINT reviews_recommendation_check CHECK (recommendation IN ('approve','revise','reject')),
  suggested_amount numeric(18,2),
  total            numeric(6,2) NOT NULL,
  submitted_at     timestamptz NOT NULL
);
-- A submitted review is locked.
CREATE TRIGGER reviews_locked BEFORE UPDATE OR DELETE ON reviews
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The funding decision, maker–checker: prepared by staff, approved or sent
-- back by an approver who is not the preparer.
CREATE TABLE decisions (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id  bigint NOT NULL REFERENCES applications (id),
  kind            text NOT NULL CONSTRAINT decisions_kind_check CHECK (kind IN ('approve','reject')),
  amount          numeric(18,2),
  cap_override    boolean NOT NULL DEFAULT false,
  override_reason text NOT NULL DEFAULT '',
  terms           jsonb,
  reason          text NOT NULL DEFAULT '',
  status          text NOT NULL DEFAULT 'pending'
                    CONSTRAINT decisions_status_check CHECK (status IN ('pending','approved','sent_back')),
  prepared_by     bigint NOT NULL REFERENCES users (id),
  prepared_at     timestamptz NOT NULL,
  checked_by      bigint REFERENCES users (id),
  checked_at      timestamptz,
  check_comment   text NOT NULL DEFAULT '',
  CONSTRAINT decisions_maker_checker CHECK (checked_by IS NULL OR checked_by <> prepared_by),
  CONSTRAINT decisions_amount_check CHECK (kind = 'reject' OR amount > 0),
  CONSTRAINT decisions_override_reason_check CHECK (NOT cap_override OR length(btrim(override_reason)) > 0)
);
CREATE UNIQUE INDEX decisions_one_pending ON decisions (application_id) WHERE status = 'pending';

ALTER TABLE applications
  ADD COLUMN approved_amount numeric(18,2) CONSTRAINT applications_approved_check CHECK (approved_amount > 0),
  ADD COLUMN notice_starts_on date,
  ADD COLUMN notice_ends_on date,
  -- set when the notice ended with no objection left open: ready to sign
  ADD COLUMN notice_closed_at timestamptz;

-- Public holidays and adjusted working days for counting the notice period.
CREATE TABLE calendar_days (
  day  date PRIMARY KEY,
  kind text NOT NULL CONSTRAINT calendar_days_kind_check CHECK (kind IN ('holiday','workday')),
  name text NOT NULL DEFAULT ''
);

CREATE TABLE objections (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  received_on    date NOT NULL,
  body           text NOT NULL CONSTRAINT objections_body_check CHECK (length(btrim(body)) > 0),
  status         text NOT NULL DEFAULT 'open' CONSTRAINT objections_status_check CHECK (status IN ('open','upheld','dismissed')),
  resolution     text NOT NULL DEFAULT '',
  recorded_by    bigint NOT NULL REFERENCES users (id),
  recorded_at    timestamptz NOT NULL,
  resolved_by    bigint REFERENCES users (id),
  resolved_at    timestamptz
);

-- The agreement: terms frozen as versioned snapshots. A version is
-- immutable once signed; a change is a new approved version.
CREATE TABLE agreements (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  version        integer NOT NULL,
  terms          jsonb NOT NULL,
  amount         numeric(18,2) NOT NULL CONSTRAINT agreements_amount_check CHECK (amount > 0),
  status         text NOT NULL CONSTRAINT agreements_status_check CHECK (status IN ('draft','signed','superseded')),
  signed_on      date,
  document_id    bigint REFERENCES documents (id),
  reason         text NOT NULL DEFAULT '',
  created_by     bigint NOT NULL REFERENCES users (id),
  approved_by    bigint REFERENCES users (id),
  created_at     timestamptz NOT NULL,
  CONSTRAINT agreements_version_key UNIQUE (application_id, version),
  CONSTRAINT agreements_maker_checker CHECK (approved_by IS NULL OR approved_by <> created_by)
);
CREATE UNIQUE INDEX agreements_one_signed ON agreements (application_id) WHERE status = 'signed';

-- In-app inbox.
CREATE TABLE notifications (
  id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  user_id    bigint NOT NULL REFERENCES users (id),
  title      text NOT NULL,
  link       text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL,
  read_at    timestamptz
);
CREATE INDEX notifications_user_idx ON notifications (user_id, read_at, id);
