package server

import (
	"context"
	"io"
	"log/slog"
	"testing"
	"time"

	"ite/internal/applications"
)

// TestLifecycleJob shows the periodic job (not only page access) lapses a
// window that ended, with an injected clock.
func TestLifecycleJob(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.fundedA(termsA)
	e.srv.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	e.clock.t = time.Date(2029, 1, 9, 2, 0, 0, 0, time.UTC)
	e.srv.runLifecycle(context.Background())
	if a, _ := e.db.FindApplication(context.Background(), id); a.State != applications.StateFunded {
		t.Fatalf("lapsed inside the window: %s", a.State)
	}
	e.clock.t = time.Date(2029, 1, 11, 2, 0, 0, 0, time.UTC)
	e.srv.runLifecycle(context.Background())
	if a, _ := e.db.FindApplication(context.Background(), id); a.State != applications.StateLapsed {
		t.Fatalf("not lapsed after the window: %s", a.State)
	}
}
