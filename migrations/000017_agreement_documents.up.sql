-- The investment agreement as a document (issue 15 point 1).
--
-- agreement_templates: a programme's agreement text, numbered articles with
-- {{placeholders}}, versioned like a terms change: staff propose a version
-- (pending), an approver other than the proposer puts it in force
-- (approved; the previous one becomes superseded) or rejects it. A
-- programme with no approved version uses the built-in default
-- (applications.DefaultAgreementTemplate). bureau is 甲方, the zone's
-- bureau, a programme setting carried by the template.
CREATE TABLE agreement_templates (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  programme_id bigint NOT NULL CONSTRAINT agreement_templates_programme_fkey REFERENCES programmes (id),
  version      integer NOT NULL CONSTRAINT agreement_templates_version_check CHECK (version > 0),
  bureau       text NOT NULL CONSTRAINT agreement_templates_bureau_check CHECK (length(btrim(bureau)) > 0),
  body         text NOT NULL CONSTRAINT agreement_templates_body_check CHECK (length(btrim(body)) > 0),
  status       text NOT NULL CONSTRAINT agreement_templates_status_check CHECK (status IN ('pending','approved','superseded','rejected')),
  reason       text NOT NULL CONSTRAINT agreement_templates_reason_check CHECK (length(btrim(reason)) > 0),
  created_by   bigint NOT NULL CONSTRAINT agreement_templates_created_by_fkey REFERENCES users (id),
  approved_by  bigint CONSTRAINT agreement_templates_approved_by_fkey REFERENCES users (id),
  created_at   timestamptz NOT NULL,
  decided_at   timestamptz,
  CONSTRAINT agreement_templates_version_key UNIQUE (programme_id, version),
  CONSTRAINT agreement_templates_maker_checker CHECK (approved_by IS NULL OR approved_by <> created_by)
);
CREATE UNIQUE INDEX agreement_templates_one_approved ON agreement_templates (programme_id) WHERE status = 'approved';
CREATE UNIQUE INDEX agreement_templates_one_pending ON agreement_templates (programme_id) WHERE status = 'pending';

-- The agreement number (协议编号, ITE-2026-0007): one per application,
-- assigned once, never changed or reused.
CREATE TABLE agreement_numbers (
  application_id bigint PRIMARY KEY CONSTRAINT agreement_numbers_application_fkey REFERENCES applications (id),
  number         text NOT NULL CONSTRAINT agreement_numbers_number_key UNIQUE,
  year           integer NOT NULL,
  seq            integer NOT NULL CONSTRAINT agreement_numbers_seq_check CHECK (seq > 0),
  assigned_at    timestamptz NOT NULL,
  CONSTRAINT agreement_numbers_year_seq_key UNIQUE (year, seq)
);
CREATE TRIGGER agreement_numbers_append_only BEFORE UPDATE OR DELETE ON agreement_numbers
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The generated text of a signed agreement version, frozen when it is
-- signed (or its change approved): the rendered document (JSON blocks) and
-- the template version it came from (NULL: the built-in default). A later
-- template edit never changes an existing agreement.
ALTER TABLE agreements
  ADD COLUMN document jsonb,
  ADD COLUMN template_id bigint CONSTRAINT agreements_template_fkey REFERENCES agreement_templates (id);

CREATE TRIGGER agreement_templates_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agreement_templates
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
CREATE TRIGGER agreement_numbers_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON agreement_numbers
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
