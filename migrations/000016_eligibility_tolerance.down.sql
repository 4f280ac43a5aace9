DROP TABLE loss_checks;
DROP TABLE committee_minutes;
ALTER TABLE applications
  DROP CONSTRAINT applications_admitted_check,
  DROP COLUMN zone_confirmed_at, DROP COLUMN zone_confirmed_by,
  DROP COLUMN admitted_at, DROP COLUMN admitted_by, DROP COLUMN admitted_reason,
  DROP COLUMN total_budget, DROP COLUMN founder_cash;
ALTER TABLE programmes
  DROP COLUMN loss_tolerance, DROP COLUMN min_founder_cash_pct, DROP COLUMN require_in_zone, DROP COLUMN max_company_age_years;
ALTER TABLE enterprises DROP COLUMN in_zone, DROP COLUMN paid_in_capital;
