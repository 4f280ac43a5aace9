DROP INDEX users_locked_idx;
DROP INDEX panel_assignments_recused_idx;
DROP INDEX applications_precheck_idx;
DROP INDEX applications_unassigned_idx;
DROP INDEX applications_todo_idx;
DROP INDEX objections_pending_idx;
ALTER TABLE objections
  DROP CONSTRAINT objections_upheld_checked,
  DROP CONSTRAINT objections_proposal_check,
  DROP CONSTRAINT objections_maker_checker,
  DROP COLUMN check_comment,
  DROP COLUMN checked_at,
  DROP COLUMN checked_by,
  DROP COLUMN proposed_at,
  DROP COLUMN proposed_by,
  DROP CONSTRAINT objections_status_check;
UPDATE objections SET status = 'open' WHERE status = 'proposed';
ALTER TABLE objections ADD CONSTRAINT objections_status_check CHECK (status IN ('open','upheld','dismissed'));
DROP TABLE email_opt_outs;
ALTER TABLE notifications DROP COLUMN kind;
