package server

import (
	"context"
	"net/http"
	"testing"
)

func TestReadyz(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.client()
	if r := c.get("/readyz"); r.StatusCode != http.StatusOK {
		t.Fatalf("ready with a database: %d %s", r.StatusCode, r.body)
	}
	if r := c.get("/healthz"); r.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %d", r.StatusCode)
	}
	t.Run("FailsWhenSchemaIsOld", func(t *testing.T) {
		if _, err := e.db.Pool.Exec(context.Background(), `UPDATE schema_migrations SET version = version - 1`); err != nil {
			t.Fatal(err)
		}
		defer e.db.Pool.Exec(context.Background(), `UPDATE schema_migrations SET version = version + 1`) //nolint:errcheck
		if r := c.get("/readyz"); r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
	t.Run("FailsWhenDatabaseIsGone", func(t *testing.T) {
		e.db.Pool.Close()
		if r := c.get("/readyz"); r.StatusCode != http.StatusServiceUnavailable {
			t.Fatalf("status %d", r.StatusCode)
		}
		if r := c.get("/healthz"); r.StatusCode != http.StatusOK {
			t.Fatalf("healthz should not depend on the database: %d", r.StatusCode)
		}
	})
}
