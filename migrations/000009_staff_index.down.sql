DROP INDEX users_role_idx;
