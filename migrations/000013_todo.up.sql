-- Work reaches the person who must act (issue 13).
--
-- 1. Every notification names its kind of event, so a user can turn the
--    email of a kind off (the in-app notification stays). Rows from before
--    carry '' (no kind: always emailed, as they were).
ALTER TABLE notifications ADD COLUMN kind text NOT NULL DEFAULT '';

-- A user's opt-outs: one row per kind whose email the user does not want.
-- No row is the default, email on.
CREATE TABLE email_opt_outs (
  user_id bigint NOT NULL REFERENCES users (id),
  kind    text NOT NULL CONSTRAINT email_opt_outs_kind_check CHECK (length(kind) > 0),
  CONSTRAINT email_opt_outs_pkey PRIMARY KEY (user_id, kind)
);
CREATE TRIGGER email_opt_outs_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON email_opt_outs
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();

-- 2. Upholding an objection ends the project, so it is a decision like the
--    others: staff propose (status 'proposed'), an approver who is not the
--    proposer approves (→ upheld, the application rejected) or sends it
--    back (→ open again, with the approver's comment). Dismissal stays
--    staff's alone. Objections upheld before this migration were resolved
--    by staff alone and have no checker: the new rules hold for new rows.
ALTER TABLE objections
  DROP CONSTRAINT objections_status_check,
  ADD CONSTRAINT objections_status_check CHECK (status IN ('open','proposed','upheld','dismissed')),
  ADD COLUMN proposed_by bigint REFERENCES users (id),
  ADD COLUMN proposed_at timestamptz,
  ADD COLUMN checked_by bigint REFERENCES users (id),
  ADD COLUMN checked_at timestamptz,
  ADD COLUMN check_comment text NOT NULL DEFAULT '',
  ADD CONSTRAINT objections_maker_checker CHECK (checked_by IS NULL OR checked_by <> proposed_by),
  ADD CONSTRAINT objections_proposal_check CHECK (status <> 'proposed' OR proposed_by IS NOT NULL);
ALTER TABLE objections
  ADD CONSTRAINT objections_upheld_checked CHECK (status <> 'upheld' OR checked_by IS NOT NULL) NOT VALID;
-- The approvers' to-do list and the notice sweep look for open and
-- proposed objections.
CREATE INDEX objections_pending_idx ON objections (application_id) WHERE status IN ('open','proposed');

-- 3. The to-do counts run for the navigation of every page a signed-in
--    user renders (internal/postgres/home.go). On 100,000 synthetic
--    applications (docs/PERFORMANCE.md, "To-do lists") these turned the
--    sequential scans EXPLAIN showed into index ranges:
--    staff's lists by state for the liaison (read oldest first, counted from
--    the index alone), and for applications with no liaison;
CREATE INDEX applications_todo_idx ON applications (state, liaison_id, state_changed_at, id);
CREATE INDEX applications_unassigned_idx ON applications (state, state_changed_at, id) WHERE liaison_id IS NULL;
--    pre-checks asked (a seq scan of applications, 9 ms);
CREATE INDEX applications_precheck_idx ON applications (precheck_asked_at, id) INCLUDE (state, liaison_id)
  WHERE precheck_asked_at IS NOT NULL;
--    recusals not yet replaced;
CREATE INDEX panel_assignments_recused_idx ON panel_assignments (application_id, id) WHERE status = 'recused';
--    the admin's locked accounts (a seq scan of 33,337 users, 15 ms).
CREATE INDEX users_locked_idx ON users (locked_until) WHERE locked_until IS NOT NULL;
