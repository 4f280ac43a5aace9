-- The staff drop-downs (queue filter, liaison assignment on every
-- application page a staff member opens) list the few staff among tens of
-- thousands of enterprise accounts; without this index each one was a
-- sequential scan of users (5.8 ms at 33,000 users, docs/PERFORMANCE.md).
CREATE INDEX users_role_idx ON users (role, id) WHERE NOT disabled;
