-- Programmes, enterprise profiles, applications, their materials and the
-- formal-review record (issue 3; DOMAIN §3, §4, §5).

CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE programmes (
  id                    bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  name                  text NOT NULL CONSTRAINT programmes_name_check CHECK (length(btrim(name)) > 0),
  year                  integer NOT NULL CONSTRAINT programmes_year_check CHECK (year BETWEEN 2000 AND 2100),
  status                text NOT NULL DEFAULT 'draft' CONSTRAINT programmes_status_check CHECK (status IN ('draft','open','closed')),
  opens_on              date NOT NULL,
  closes_on             date NOT NULL,
  total_budget          numeric(18,2) NOT NULL CONSTRAINT programmes_budget_check CHECK (total_budget > 0),
  project_cap           numeric(18,2) NOT NULL DEFAULT 10000000.00 CONSTRAINT programmes_cap_check CHECK (project_cap > 0),
  cap_override_allowed  boolean NOT NULL DEFAULT true,
  sectors               text[] NOT NULL,
  required_materials    text[] NOT NULL,
  credit_report_max_age_days integer NOT NULL DEFAULT 90,
  panel_size            integer NOT NULL DEFAULT 5,
  criteria              jsonb NOT NULL,
  pass_score            numeric(5,2) NOT NULL DEFAULT 70,
  aggregation           text NOT NULL DEFAULT 'trimmed_mean',
  notice_working_days   integer NOT NULL DEFAULT 5,
  terms_template        jsonb NOT NULL,
  holding_platform      text NOT NULL,
  version               integer NOT NULL DEFAULT 1,
  created_at            timestamptz NOT NULL DEFAULT now(),
  updated_at            timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT programmes_window_check CHECK (closes_on >= opens_on)
);

ALTER TABLE enterprises
  ADD COLUMN legal_rep          text NOT NULL DEFAULT '',
  ADD COLUMN registered_capital numeric(18,2),
  ADD COLUMN founded_on         date,
  ADD COLUMN address            text NOT NULL DEFAULT '',
  ADD COLUMN contact_name       text NOT NULL DEFAULT '',
  ADD COLUMN contact_mobile     text NOT NULL DEFAULT '';
CREATE INDEX enterprises_name_trgm ON enterprises USING gin (name gin_trgm_ops);

CREATE TABLE applications (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  programme_id     bigint NOT NULL CONSTRAINT applications_programme_fkey REFERENCES programmes (id),
  enterprise_id    bigint NOT NULL CONSTRAINT applications_enterprise_fkey REFERENCES enterprises (id),
  title            text NOT NULL,
  sector           text NOT NULL,
  requested_amount numeric(18,2) NOT NULL CONSTRAINT applications_amount_check CHECK (requested_amount > 0),
  content          jsonb NOT NULL,
  lead_name        text NOT NULL DEFAULT '',
  lead_mobile      text NOT NULL DEFAULT '',
  state            text NOT NULL DEFAULT 'draft',
  liaison_id       bigint CONSTRAINT applications_liaison_fkey REFERENCES users (id),
  precheck_asked_at timestamptz,
  version          integer NOT NULL DEFAULT 1,
  state_changed_at timestamptz NOT NULL,
  submitted_at     timestamptz,
  created_by       bigint NOT NULL REFERENCES users (id),
  created_at       timestamptz NOT NULL,
  updated_at       timestamptz NOT NULL
);
-- The staff queue: by state, longest waiting first, keyset on (state_changed_at, id).
CREATE INDEX applications_queue_idx ON applications (state_changed_at, id);
CREATE INDEX applications_state_queue_idx ON applications (state, state_changed_at, id);
CREATE INDEX applications_enterprise_idx ON applications (enterprise_id, id);
CREATE INDEX applications_programme_idx ON applications (programme_id);
CREATE INDEX applications_liaison_idx ON applications (liaison_id) WHERE liaison_id IS NOT NULL;

-- Every state change, for the timeline (DOMAIN §4: who, when, from, to, reason).
CREATE TABLE application_transitions (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  from_state     text NOT NULL,
  to_state       text NOT NULL,
  actor_id       bigint REFERENCES users (id),
  actor_name     text NOT NULL,
  actor_role     text NOT NULL,
  reason         text NOT NULL DEFAULT '',
  at             timestamptz NOT NULL
);
CREATE INDEX application_transitions_app_idx ON application_transitions (application_id, id);
CREATE TRIGGER application_transitions_append_only BEFORE UPDATE OR DELETE ON application_transitions
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- One row per uploaded version. The blob is written and synced before the
-- row commits; rows are never deleted, so old versions stay readable.
CREATE TABLE documents (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  item           text NOT NULL,
  version        integer NOT NULL,
  blob_key       text NOT NULL CONSTRAINT documents_blob_key_key UNIQUE,
  filename       text NOT NULL,
  content_kind   text NOT NULL CONSTRAINT documents_kind_check CHECK (content_kind IN ('pdf','jpeg','png','ofd')),
  size_bytes     bigint NOT NULL CONSTRAINT documents_size_check CHECK (size_bytes > 0),
  sha256         text NOT NULL,
  encrypted      boolean NOT NULL,
  enc_alg        text NOT NULL DEFAULT '',
  wrapped_key    bytea,
  uscc           text NOT NULL DEFAULT '',        -- business licence
  id_masked      text NOT NULL DEFAULT '',        -- ID copies: first 4, last 4
  id_cipher      bytea,                           -- ID copies: the full number, encrypted
  issue_date     date,                            -- credit reports
  uploaded_by    bigint NOT NULL REFERENCES users (id),
  uploaded_at    timestamptz NOT NULL,
  CONSTRAINT documents_version_key UNIQUE (application_id, item, version)
);
CREATE TRIGGER documents_append_only BEFORE UPDATE OR DELETE ON documents
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- Staff's verdict on the current version of each item. A new upload makes
-- the verdict stale (it names the document it judged).
CREATE TABLE material_reviews (
  application_id bigint NOT NULL REFERENCES applications (id),
  item           text NOT NULL,
  document_id    bigint NOT NULL REFERENCES documents (id),
  status         text NOT NULL CONSTRAINT material_reviews_status_check CHECK (status IN ('accepted','returned')),
  reason         text NOT NULL DEFAULT '',
  reviewer_id    bigint NOT NULL REFERENCES users (id),
  at             timestamptz NOT NULL,
  PRIMARY KEY (application_id, item),
  CONSTRAINT material_reviews_reason_check CHECK (status = 'accepted' OR length(btrim(reason)) > 0)
);

-- Coaching: the liaison's comments on a pre-check (per item or overall).
CREATE TABLE application_comments (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  item           text NOT NULL DEFAULT '',
  body           text NOT NULL CONSTRAINT application_comments_body_check CHECK (length(btrim(body)) > 0),
  author_id      bigint NOT NULL REFERENCES users (id),
  author_name    text NOT NULL,
  at             timestamptz NOT NULL
);
CREATE INDEX application_comments_app_idx ON application_comments (application_id, id);
