DROP TABLE info_requests;
DROP INDEX panel_assignments_open_due_idx;
ALTER TABLE panel_assignments DROP COLUMN due_on;
