-- An expert's scoring form saved as a draft (保存草稿): what was typed,
-- field by field, restored when the expert comes back. A draft is not a
-- review: staff, the result and the score sheet read only reviews; the
-- draft is deleted when the review is submitted and locked.
CREATE TABLE review_drafts (
  assignment_id bigint PRIMARY KEY REFERENCES panel_assignments (id) ON DELETE CASCADE,
  form          jsonb NOT NULL CONSTRAINT review_drafts_form_check CHECK (jsonb_typeof(form) = 'object'),
  saved_at      timestamptz NOT NULL
);
-- The page cache forgets pages when a draft changes (migration 000008).
CREATE TRIGGER review_drafts_notify_change AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON review_drafts
  FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change();
