-- Acceptance (结题验收) and performance indicators (绩效), DOMAIN §16.

-- A programme may ask for a special audit report (专项审计报告) with every
-- acceptance.
ALTER TABLE programmes ADD COLUMN requires_special_audit boolean NOT NULL DEFAULT false;

-- A project's acceptance: staff record the date, the result and the
-- acceptance report (and the special audit report where the programme asks).
-- A later acceptance (a re-examination) is a new row; the latest counts.
CREATE TABLE acceptances (
  id              bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id  bigint NOT NULL CONSTRAINT acceptances_application_fkey REFERENCES applications (id),
  accepted_on     date NOT NULL,
  result          text NOT NULL CONSTRAINT acceptances_result_check CHECK (result IN ('passed','conditional','failed')),
  conditions      text NOT NULL DEFAULT '',
  report_doc      bigint NOT NULL CONSTRAINT acceptances_report_fkey REFERENCES documents (id),
  audit_doc       bigint CONSTRAINT acceptances_audit_fkey REFERENCES documents (id),
  recorded_by     bigint NOT NULL CONSTRAINT acceptances_user_fkey REFERENCES users (id),
  recorded_at     timestamptz NOT NULL,
  idempotency_key text NOT NULL CONSTRAINT acceptances_idempotency_key UNIQUE,
  CONSTRAINT acceptances_conditions_check CHECK (result <> 'conditional' OR length(btrim(conditions)) > 0)
);
CREATE INDEX acceptances_application_idx ON acceptances (application_id, id);
CREATE TRIGGER acceptances_append_only BEFORE UPDATE OR DELETE ON acceptances
  FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER acceptances_notify_change AFTER INSERT ON acceptances
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();

-- The indicator figures of a progress report (the older reports have none:
-- NULL, counted as 0).
ALTER TABLE progress_reports
  ADD COLUMN rd_staff      integer CONSTRAINT progress_reports_rd_staff_check CHECK (rd_staff >= 0 AND rd_staff <= headcount),
  ADD COLUMN patents       integer CONSTRAINT progress_reports_patents_check CHECK (patents >= 0),
  ADD COLUMN copyrights    integer CONSTRAINT progress_reports_copyrights_check CHECK (copyrights >= 0),
  ADD COLUMN new_financing numeric(18,2) CONSTRAINT progress_reports_new_financing_check CHECK (new_financing >= 0);
