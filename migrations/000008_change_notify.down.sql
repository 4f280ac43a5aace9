DO $$
DECLARE
	r record;
BEGIN
	FOR r IN
		SELECT tgname, tgrelid::regclass AS tbl FROM pg_trigger
		WHERE tgfoid = 'ite_notify_change'::regproc
	LOOP
		EXECUTE format('DROP TRIGGER %I ON %s', r.tgname, r.tbl);
	END LOOP;
END;
$$;
DROP FUNCTION ite_notify_change();
