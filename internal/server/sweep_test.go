package server

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"ite/internal/applications"
	"ite/internal/blob"
)

func TestSweepBlobs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx := context.Background()
	p := e.openProgramme()
	ent := e.loggedIn(applications.RoleEnterprise)
	id := ent.createApplication(p.ID, "8000000.00")
	if r := ent.upload(id, applications.MaterialApplicationForm, nil, "申请书.pdf", bytes.NewReader(pdf)); r.StatusCode != 200 {
		t.Fatalf("upload %d %s", r.StatusCode, r.body)
	}
	docs, err := e.db.ListDocuments(ctx, id)
	if err != nil || len(docs) != 1 {
		t.Fatalf("documents %v %v", docs, err)
	}
	referenced := docs[0].BlobKey

	// What a crash between storing an upload and committing its row
	// leaves: blobs no row references. One is older than the grace
	// period, one is an upload that may still commit.
	store := e.srv.Blobs
	oldOrphan := blob.NewKey("docs", e.clock.Now())
	youngOrphan := blob.NewKey("docs", e.clock.Now())
	for _, k := range []string{oldOrphan, youngOrphan} {
		if err := store.Put(ctx, k, bytes.NewReader(pdf)); err != nil {
			t.Fatal(err)
		}
	}
	// Blob ages are file times, so set them against the server's clock.
	setAge := func(key string, age time.Duration) {
		at := e.clock.Now().Add(-age)
		if err := os.Chtimes(filepath.Join(store.(*blob.Local).Dir(), filepath.FromSlash(key)), at, at); err != nil {
			t.Fatal(err)
		}
	}
	setAge(referenced, 72*time.Hour)
	setAge(oldOrphan, blobGrace+time.Hour)
	setAge(youngOrphan, blobGrace-time.Hour)

	n, err := e.srv.sweepBlobs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	exists := func(key string) bool {
		rc, err := store.Open(ctx, key)
		if errors.Is(err, blob.ErrNotFound) {
			return false
		}
		if err != nil {
			t.Fatal(err)
		}
		rc.Close()
		return true
	}
	t.Run("OldOrphanDeleted", func(t *testing.T) {
		if n != 1 || exists(oldOrphan) {
			t.Fatalf("deleted %d, old orphan still there: %v", n, exists(oldOrphan))
		}
	})
	t.Run("ReferencedKept", func(t *testing.T) {
		if !exists(referenced) {
			t.Fatal("a blob its document row references was deleted")
		}
		r := e.loggedIn(applications.RoleStaff).get("/documents/" + itoa(docs[0].ID))
		if r.StatusCode != 200 || r.body != string(pdf) {
			t.Fatalf("document after the sweep: %d", r.StatusCode)
		}
	})
	t.Run("YoungOrphanKeptForTheGracePeriod", func(t *testing.T) {
		if !exists(youngOrphan) {
			t.Fatal("a blob younger than the grace period was deleted (its row may still commit)")
		}
	})
	t.Run("NoStoreNoSweep", func(t *testing.T) {
		s := New(Config{DB: e.db, Logger: e.srv.Logger, Key: e.srv.Key, Now: e.clock.Now})
		if n, err := s.sweepBlobs(ctx); n != 0 || err != nil {
			t.Fatalf("%d %v", n, err)
		}
	})
}

func TestRunJobsStopsWithItsContext(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { e.srv.RunJobs(ctx); close(done) }()
	cancel()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("RunJobs did not return after its context ended")
	}
}
