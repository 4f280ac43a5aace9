-- Enterprise reporting duties and email notifications (issue 8; DOMAIN §2:
-- enterprises "report financing rounds, revenue and progress").

CREATE EXTENSION IF NOT EXISTS btree_gist;

-- A user's address for email notifications. Optional: without one the
-- user gets the in-app inbox only. The check keeps header-breaking
-- characters (CR, LF, spaces) out of what ends up in a To: header.
ALTER TABLE users
  ADD COLUMN email text
    CONSTRAINT users_email_check CHECK (email ~ '^[^@[:space:]<>",;]+@[^@[:space:]<>",;]+\.[^@[:space:]<>",;]+$' AND length(email) <= 254);

-- The programme's reporting duty: a progress report every N months
-- (calendar-aligned periods: 6 = half-years Jan–Jun, Jul–Dec), due
-- report_grace_days after its period ends. The key figures are fixed
-- (revenue, headcount, R&D spend, IP count).
ALTER TABLE programmes
  ADD COLUMN report_cadence_months integer NOT NULL DEFAULT 6
    CONSTRAINT programmes_report_cadence_check CHECK (report_cadence_months IN (1, 3, 6, 12)),
  ADD COLUMN report_grace_days integer NOT NULL DEFAULT 30
    CONSTRAINT programmes_report_grace_check CHECK (report_grace_days BETWEEN 0 AND 180);

-- One row per reporting period of a funded project. Rows are generated
-- (EnsureDueReports) once the period has ended; the enterprise submits,
-- staff accept or return with a comment, a returned report is submitted
-- again. Periods of one project never overlap.
CREATE TABLE progress_reports (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL CONSTRAINT progress_reports_application_fkey REFERENCES applications (id),
  period_start   date NOT NULL,
  period_end     date NOT NULL,
  due_on         date NOT NULL,
  status         text NOT NULL DEFAULT 'due'
                   CONSTRAINT progress_reports_status_check CHECK (status IN ('due','submitted','accepted','returned')),
  revenue        numeric(18,2) CONSTRAINT progress_reports_revenue_check CHECK (revenue >= 0),
  rd_spend       numeric(18,2) CONSTRAINT progress_reports_rd_spend_check CHECK (rd_spend >= 0),
  headcount      integer CONSTRAINT progress_reports_headcount_check CHECK (headcount >= 0),
  ip_count       integer CONSTRAINT progress_reports_ip_count_check CHECK (ip_count >= 0),
  narrative      text NOT NULL DEFAULT '',
  submitted_by   bigint CONSTRAINT progress_reports_submitted_fkey REFERENCES users (id),
  submitted_at   timestamptz,
  reviewed_by    bigint CONSTRAINT progress_reports_reviewed_fkey REFERENCES users (id),
  reviewed_at    timestamptz,
  review_comment text NOT NULL DEFAULT '',
  reminded_at    timestamptz, -- the overdue reminder went out
  version        integer NOT NULL DEFAULT 1,
  created_at     timestamptz NOT NULL,
  CONSTRAINT progress_reports_period_check CHECK (period_end >= period_start AND due_on >= period_end),
  CONSTRAINT progress_reports_period_key UNIQUE (application_id, period_start),
  CONSTRAINT progress_reports_no_overlap EXCLUDE USING gist
    (application_id WITH =, daterange(period_start, period_end, '[]') WITH &&),
  -- what was submitted carries every key figure and a narrative
  CONSTRAINT progress_reports_figures_check CHECK (status = 'due' OR
    (revenue IS NOT NULL AND rd_spend IS NOT NULL AND headcount IS NOT NULL AND ip_count IS NOT NULL
     AND length(btrim(narrative)) > 0 AND submitted_by IS NOT NULL AND submitted_at IS NOT NULL)),
  CONSTRAINT progress_reports_review_check CHECK (status NOT IN ('accepted','returned') OR
    (reviewed_by IS NOT NULL AND reviewed_at IS NOT NULL)),
  CONSTRAINT progress_reports_return_comment_check CHECK (status <> 'returned' OR length(btrim(review_comment)) > 0)
);
CREATE INDEX progress_reports_open_idx ON progress_reports (due_on, id) WHERE status IN ('due','returned');
CREATE INDEX progress_reports_status_idx ON progress_reports (status, id);

-- A report's attachments are document versions (item 'progress_report')
-- so they share the blob pipeline: content sniffing, SHA-256, the
-- append-only documents table, the download route and its access rule,
-- and the blob sweeper, which keeps exactly the blobs a document row
-- references. This table says which report each one belongs to.
CREATE TABLE progress_report_documents (
  report_id   bigint NOT NULL CONSTRAINT progress_report_documents_report_fkey REFERENCES progress_reports (id),
  document_id bigint NOT NULL CONSTRAINT progress_report_documents_document_fkey REFERENCES documents (id),
  PRIMARY KEY (report_id, document_id),
  CONSTRAINT progress_report_documents_document_key UNIQUE (document_id)
);

-- The transactional outbox: one row per email, written in the same
-- transaction as the notification (and so as the event) that causes it.
-- A worker (internal/mail) claims due rows with FOR UPDATE SKIP LOCKED,
-- sends, and marks them sent, or schedules a retry with backoff, or gives
-- up (failed_at) after too many attempts.
CREATE TABLE email_outbox (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  notification_id bigint CONSTRAINT email_outbox_notification_fkey REFERENCES notifications (id),
  user_id         bigint CONSTRAINT email_outbox_user_fkey REFERENCES users (id),
  to_address      text NOT NULL CONSTRAINT email_outbox_to_check CHECK (to_address ~ '^[^@[:space:]<>",;]+@[^@[:space:]<>",;]+$'),
  subject         text NOT NULL,
  body            text NOT NULL,
  link            text NOT NULL DEFAULT '', -- a path of the app; the worker prefixes BASE_URL
  created_at      timestamptz NOT NULL,
  attempts        integer NOT NULL DEFAULT 0 CONSTRAINT email_outbox_attempts_check CHECK (attempts >= 0),
  next_attempt_at timestamptz NOT NULL,
  sent_at         timestamptz,
  failed_at       timestamptz, -- gave up; last_error says why
  last_error      text NOT NULL DEFAULT '',
  CONSTRAINT email_outbox_final_check CHECK (sent_at IS NULL OR failed_at IS NULL)
);
CREATE INDEX email_outbox_pending_idx ON email_outbox (next_attempt_at, id) WHERE sent_at IS NULL AND failed_at IS NULL;
