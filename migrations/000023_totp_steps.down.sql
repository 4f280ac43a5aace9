ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT 0;
UPDATE users u SET totp_last_step = s.last_step FROM totp_steps s WHERE s.user_id = u.id;
DROP TABLE totp_steps;
