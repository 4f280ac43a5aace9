package server

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"strings"
	"testing"
)

// TestStoreFailureIsNotNotFound: a lookup that finds nothing is 404; a
// lookup that fails (here its table is gone) is a 500 page carrying the
// request ID, logged once with it, never "not found".
func TestStoreFailureIsNotNotFound(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	var logs bytes.Buffer
	e.srv.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	c := e.loggedIn(approver)

	t.Run("AbsentIs404", func(t *testing.T) {
		if r := c.post("/decisions/999/approve", nil); r.StatusCode != http.StatusNotFound {
			t.Fatalf("absent decision: %d, want 404", r.StatusCode)
		}
	})
	t.Run("FailureIs500WithRequestID", func(t *testing.T) {
		if _, err := e.db.Pool.Exec(context.Background(), `ALTER TABLE decisions RENAME TO decisions_gone`); err != nil {
			t.Fatal(err)
		}
		logs.Reset()
		r := c.post("/decisions/999/approve", nil)
		rid := r.Header.Get("X-Request-Id")
		if r.StatusCode != http.StatusInternalServerError || rid == "" || !strings.Contains(r.body, "请求编号 "+rid) {
			t.Fatalf("failed lookup: %d, request ID %q in page: %v", r.StatusCode, rid, strings.Contains(r.body, rid))
		}
		if n := strings.Count(logs.String(), "request failed"); n != 1 || !strings.Contains(logs.String(), "request_id="+rid) ||
			!strings.Contains(logs.String(), "DecisionApplication 999") {
			t.Fatalf("logged %d times:\n%s", n, logs.String())
		}
	})
}
