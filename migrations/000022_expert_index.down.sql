DROP INDEX users_role_all_idx;
