-- Oversight a finance bureau asks for (issue 18 points 2, 3 and 6; DOMAIN
-- §3, §8, §16): eligibility rules per programme and what an application is
-- checked against, the programme's loss tolerance, the committee minutes
-- a decision beyond the rules carries, and the loss ratio an approval of a
-- loss was checked at.

-- The enterprise's profile: paid-in capital and its declaration that it is
-- registered in the zone (注册地在经开区); staff confirm it at formal review.
ALTER TABLE enterprises
  ADD COLUMN paid_in_capital numeric(18,2) CONSTRAINT enterprises_paid_in_check CHECK (paid_in_capital >= 0),
  ADD COLUMN in_zone         boolean NOT NULL DEFAULT false;

-- The programme's eligibility rules (each optional: NULL or false is no
-- rule) and its loss tolerance (容亏率, percent of the money disbursed).
ALTER TABLE programmes
  ADD COLUMN max_company_age_years integer CONSTRAINT programmes_max_age_check CHECK (max_company_age_years > 0),
  ADD COLUMN require_in_zone       boolean NOT NULL DEFAULT false,
  ADD COLUMN min_founder_cash_pct  numeric(5,2) CONSTRAINT programmes_founder_cash_check CHECK (min_founder_cash_pct > 0 AND min_founder_cash_pct <= 100),
  ADD COLUMN loss_tolerance        numeric(5,2) NOT NULL DEFAULT 80
    CONSTRAINT programmes_loss_tolerance_check CHECK (loss_tolerance >= 0 AND loss_tolerance <= 100);

-- The application: the founders' own cash put into the project and the
-- project's total budget (the grant is part of it); staff's admission of
-- an application that fails a rule, with the written reason; staff's
-- confirmation at formal review of the enterprise's zone declaration.
ALTER TABLE applications
  ADD COLUMN founder_cash     numeric(18,2) CONSTRAINT applications_founder_cash_check CHECK (founder_cash >= 0),
  ADD COLUMN total_budget     numeric(18,2) CONSTRAINT applications_total_budget_check CHECK (total_budget > 0),
  ADD COLUMN admitted_reason  text NOT NULL DEFAULT '',
  ADD COLUMN admitted_by      bigint CONSTRAINT applications_admitted_by_fkey REFERENCES users (id),
  ADD COLUMN admitted_at      timestamptz,
  ADD COLUMN zone_confirmed_by bigint CONSTRAINT applications_zone_confirmed_by_fkey REFERENCES users (id),
  ADD COLUMN zone_confirmed_at timestamptz,
  ADD CONSTRAINT applications_admitted_check CHECK ((admitted_by IS NULL) = (admitted_reason = ''));

-- Minutes of the committee (决策联席会 / 管委会) a decision needs: a cap
-- override, an exit loss or write-off beyond the loss tolerance. One set
-- of minutes per record; insert-only.
CREATE TABLE committee_minutes (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  record_type  text NOT NULL CONSTRAINT committee_minutes_type_check CHECK (record_type IN ('decision','exit','ending')),
  record_id    bigint NOT NULL,
  number       text NOT NULL CONSTRAINT committee_minutes_number_check CHECK (length(btrim(number)) > 0),
  held_on      date NOT NULL,
  document_id  bigint NOT NULL CONSTRAINT committee_minutes_document_fkey REFERENCES documents (id),
  created_by   bigint NOT NULL REFERENCES users (id),
  created_at   timestamptz NOT NULL,
  CONSTRAINT committee_minutes_record_key UNIQUE (record_type, record_id)
);
CREATE TRIGGER committee_minutes_append_only BEFORE UPDATE OR DELETE ON committee_minutes
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The loss ratio an approved exit loss or write-off was checked at, before
-- and after it (percent, 4 decimals), for its certificate. Insert-only.
CREATE TABLE loss_checks (
  record_type     text NOT NULL CONSTRAINT loss_checks_type_check CHECK (record_type IN ('exit','ending')),
  record_id       bigint NOT NULL,
  loss            numeric(18,2) NOT NULL,
  losses_before   numeric(20,2) NOT NULL,
  disbursed       numeric(20,2) NOT NULL,
  tolerance       numeric(5,2) NOT NULL,
  ratio_before    numeric(9,4),
  ratio_after     numeric(9,4),
  beyond          boolean NOT NULL,
  PRIMARY KEY (record_type, record_id)
);
CREATE TRIGGER loss_checks_append_only BEFORE UPDATE OR DELETE ON loss_checks
  FOR EACH ROW EXECUTE FUNCTION refuse_change();

-- The page cache forgets pages on every commit (000008).
CREATE TRIGGER committee_minutes_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON committee_minutes
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
CREATE TRIGGER loss_checks_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON loss_checks
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
