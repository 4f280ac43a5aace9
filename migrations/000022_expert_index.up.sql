-- The expert pool (the panel form on every application under review that
-- staff open, the experts page) lists the few experts among tens of
-- thousands of enterprise accounts, disabled experts included, so the
-- staff index (users_role_idx, WHERE NOT disabled) cannot serve it: each
-- list was a sequential scan of users, 9.2 ms at 33,000 users, and under
-- commits it is read again every generation (docs/PERFORMANCE.md).
CREATE INDEX users_role_all_idx ON users (role);
