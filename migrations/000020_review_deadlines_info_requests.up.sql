-- Issue 13: an expert's review has a deadline, and staff can ask an
-- enterprise for information (请补充近三年财务报表) with a due date; both
-- are to-do items with their deadline.

-- The day by which the expert declares and scores (a China calendar day,
-- set when the panel is drawn: by staff, or N working days). NULL for
-- assignments made before deadlines existed: they show none.
ALTER TABLE panel_assignments ADD COLUMN due_on date;
-- Staff's "reviews overdue" list reads the open ones by deadline.
CREATE INDEX panel_assignments_open_due_idx ON panel_assignments (due_on, application_id)
  WHERE status IN ('assigned', 'declared') AND due_on IS NOT NULL;

CREATE TABLE info_requests (
  id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  application_id bigint NOT NULL REFERENCES applications (id),
  body           text NOT NULL CONSTRAINT info_requests_body_check CHECK (length(btrim(body)) > 0),
  due_on         date NOT NULL,
  asked_by       bigint NOT NULL REFERENCES users (id),
  asked_at       timestamptz NOT NULL,
  status         text NOT NULL DEFAULT 'open' CONSTRAINT info_requests_status_check CHECK (status IN ('open', 'answered')),
  answer         text NOT NULL DEFAULT '',
  answer_doc     bigint REFERENCES documents (id),
  answered_by    bigint REFERENCES users (id),
  answered_at    timestamptz,
  -- An answer says something or carries a file, and names who gave it.
  CONSTRAINT info_requests_answer_check CHECK (status = 'open'
    OR (answered_by IS NOT NULL AND answered_at IS NOT NULL AND (length(btrim(answer)) > 0 OR answer_doc IS NOT NULL)))
);
CREATE INDEX info_requests_app_idx ON info_requests (application_id, id);
-- The to-do lists: open requests, oldest first (the enterprise's by its
-- applications, staff's by asker).
CREATE INDEX info_requests_open_idx ON info_requests (asked_by, asked_at, id) WHERE status = 'open';
CREATE INDEX info_requests_open_app_idx ON info_requests (application_id, asked_at) WHERE status = 'open';
CREATE TRIGGER info_requests_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON info_requests
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
