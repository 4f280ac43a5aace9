-- Every app server keeps rendered pages in memory (internal/pagecache) and
-- must forget them as soon as the data under them changes, whichever app
-- server or job changed it. A statement-level trigger on every table that
-- pages read NOTIFYs channel ite_data_changed; NOTIFY is delivered on
-- commit only (a rolled-back write invalidates nothing) and identical
-- notifications of one transaction are folded into one.
--
-- sessions is left out: it changes on sign-in and idle touches, and no page
-- shows it. Tables created by later migrations must get the trigger too
-- (TestEveryTableNotifiesChanges).
CREATE FUNCTION ite_notify_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	PERFORM pg_notify('ite_data_changed', TG_TABLE_NAME);
	RETURN NULL;
END;
$$;

DO $$
DECLARE
	t text;
BEGIN
	FOR t IN
		SELECT tablename FROM pg_tables
		WHERE schemaname = current_schema() AND tablename NOT IN ('sessions', 'schema_migrations')
	LOOP
		EXECUTE format('CREATE TRIGGER %I AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON %I
			FOR EACH STATEMENT EXECUTE FUNCTION ite_notify_change()', t || '_notify_change', t);
	END LOOP;
END;
$$;
