-- The last TOTP step accepted (the replay guard: a code is never accepted
-- twice) moves out of users into a table of its own. Every sign-in with a
-- code writes it, and every statement on users tells each app server that
-- users changed (ite_notify_change), which renews the to-do lists that show
-- people's names, everyone's, on every staff sign-in. Like sessions, this
-- table changes on sign-in and no page shows it, so it has no change
-- trigger (TestEveryTableNotifiesChanges lists it as left out).
CREATE TABLE totp_steps (
  user_id   bigint PRIMARY KEY CONSTRAINT totp_steps_user_fkey REFERENCES users (id) ON DELETE CASCADE,
  last_step bigint NOT NULL
);
INSERT INTO totp_steps (user_id, last_step) SELECT id, totp_last_step FROM users WHERE totp_last_step <> 0;
ALTER TABLE users DROP COLUMN totp_last_step;
