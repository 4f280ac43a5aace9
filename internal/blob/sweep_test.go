package blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"
)

// refsOf returns a referenced func backed by a set, recording each batch.
func refsOf(live ...string) (func([]string) (map[string]bool, error), *[][]string) {
	var batches [][]string
	return func(keys []string) (map[string]bool, error) {
		batches = append(batches, slices.Clone(keys))
		m := map[string]bool{}
		for _, k := range keys {
			if slices.Contains(live, k) {
				m[k] = true
			}
		}
		return m, nil
	}, &batches
}

func age(t testing.TB, l *Local, name string, d time.Duration) {
	t.Helper()
	old := time.Now().Add(-d)
	if err := os.Chtimes(filepath.Join(l.Dir(), filepath.FromSlash(name)), old, old); err != nil {
		t.Fatal(err)
	}
}

func TestSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	grace := time.Now().Add(-24 * time.Hour)

	t.Run("DeletesOnlyOldUnreferencedBlobsUnderPrefix", func(t *testing.T) {
		l := newLocal(t)
		for _, k := range []string{"docs/2026/10/live", "docs/2026/10/orphan1", "docs/2026/11/orphan2", "docs/2026/11/fresh", "tmpl/old"} {
			put(t, l, k, []byte(k))
		}
		for _, k := range []string{"docs/2026/10/live", "docs/2026/10/orphan1", "docs/2026/11/orphan2", "tmpl/old"} {
			age(t, l, k, 48*time.Hour)
		}
		// What a crash in the middle of Put leaves: an old temporary file,
		// and a fresh one that may belong to an upload in progress.
		for name, d := range map[string]time.Duration{"docs/2026/11/.put-stale": 48 * time.Hour, "docs/2026/11/.put-busy": 0} {
			if err := os.WriteFile(filepath.Join(l.Dir(), filepath.FromSlash(name)), []byte("partial"), 0o600); err != nil {
				t.Fatal(err)
			}
			age(t, l, name, d)
		}
		refs, batches := refsOf("docs/2026/10/live")
		n, err := Sweep(ctx, l, "docs/", grace, refs)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("Sweep deleted %d, want 3 (two orphans and the stale temporary file)", n)
		}
		if want := [][]string{{"docs/2026/10/live", "docs/2026/10/orphan1", "docs/2026/11/orphan2"}}; !slices.EqualFunc(*batches, want, slices.Equal) {
			t.Errorf("referenced was asked about %q, want %q (fresh blobs are never candidates)", *batches, want)
		}
		if got, want := keys(t, l, ""), []string{"docs/2026/10/live", "docs/2026/11/fresh", "tmpl/old"}; !slices.Equal(got, want) {
			t.Errorf("left %q, want %q", got, want)
		}
		if _, err := os.Stat(filepath.Join(l.Dir(), "docs/2026/11/.put-stale")); !os.IsNotExist(err) {
			t.Error("stale temporary file survived the sweep")
		}
		if _, err := os.Stat(filepath.Join(l.Dir(), "docs/2026/11/.put-busy")); err != nil {
			t.Error("a fresh temporary file (an upload in progress) was removed")
		}
	})

	t.Run("AsksInBoundedBatches", func(t *testing.T) {
		l := newLocal(t)
		dir := filepath.Join(l.Dir(), "docs", "2026", "11")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			t.Fatal(err)
		}
		const total = 2*sweepBatch + 7
		old := time.Now().Add(-48 * time.Hour)
		for i := range total {
			p := filepath.Join(dir, fmt.Sprintf("k%04d", i))
			if err := os.WriteFile(p, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			os.Chtimes(p, old, old)
		}
		refs, batches := refsOf("docs/2026/11/k0000", "docs/2026/11/k1006")
		n, err := Sweep(ctx, l, "docs/", grace, refs)
		if err != nil || n != total-2 {
			t.Fatalf("Sweep = %d, %v; want %d", n, err, total-2)
		}
		var sizes []int
		for _, b := range *batches {
			sizes = append(sizes, len(b))
		}
		if !slices.Equal(sizes, []int{sweepBatch, sweepBatch, 7}) {
			t.Errorf("batch sizes %v", sizes)
		}
		if got := keys(t, l, ""); !slices.Equal(got, []string{"docs/2026/11/k0000", "docs/2026/11/k1006"}) {
			t.Errorf("left %q", got)
		}
	})

	t.Run("StopsWhenTheDatabaseFails", func(t *testing.T) {
		l := newLocal(t)
		put(t, l, "docs/a", []byte("a"))
		age(t, l, "docs/a", 48*time.Hour)
		dbDown := errors.New("database unavailable")
		n, err := Sweep(ctx, l, "docs/", grace, func([]string) (map[string]bool, error) { return nil, dbDown })
		if !errors.Is(err, dbDown) || n != 0 {
			t.Fatalf("Sweep = %d, %v; want 0 and the database's error", n, err)
		}
		if got := keys(t, l, ""); len(got) != 1 {
			t.Fatalf("a failed sweep deleted blobs: left %q", got)
		}
	})

	t.Run("WorksOnS3", func(t *testing.T) {
		s := newFakeS3(t)
		for _, k := range []string{"docs/a", "docs/b", "docs/c"} {
			put(t, s, k, []byte(k))
		}
		refs, _ := refsOf("docs/b")
		// The fake's clock cannot be moved back, so move the grace period
		// forward instead: everything counts as old.
		n, err := Sweep(ctx, s, "docs/", time.Now().Add(time.Hour), refs)
		if err != nil || n != 2 {
			t.Fatalf("Sweep = %d, %v; want 2", n, err)
		}
		if got := keys(t, s, ""); !slices.Equal(got, []string{"docs/b"}) {
			t.Fatalf("left %q", got)
		}
	})
}

// TestRemoveInterruptedUploads: temporary files of uploads that died (a
// server killed mid-upload) go once untouched for TempIdle; a fresh one,
// which may be a live upload of another server sharing the directory,
// stays, and so do blobs.
func TestRemoveInterruptedUploads(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := newLocal(t)
	put(t, l, "docs/2026/11/blob", []byte("a blob"))
	age(t, l, "docs/2026/11/blob", 48*time.Hour)
	planted := map[string]time.Duration{
		"docs/2026/11/.put-killed":  TempIdle + time.Minute,
		"docs/2026/10/.put-old":     72 * time.Hour,
		".put-at-root":              time.Hour,
		"docs/2026/11/.put-live":    30 * time.Second,
		"docs/2026/11/.put-stalled": TempIdle - time.Minute,
	}
	for name, d := range planted {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(l.Dir(), filepath.FromSlash(name))), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(l.Dir(), filepath.FromSlash(name)), []byte("partial body"), 0o600); err != nil {
			t.Fatal(err)
		}
		age(t, l, name, d)
	}
	n, err := RemoveInterruptedUploads(ctx, l, time.Now().Add(-TempIdle))
	if err != nil || n != 3 {
		t.Fatalf("RemoveInterruptedUploads = %d, %v; want 3", n, err)
	}
	for name, d := range planted {
		_, err := os.Stat(filepath.Join(l.Dir(), filepath.FromSlash(name)))
		if gone := os.IsNotExist(err); gone != (d > TempIdle) {
			t.Errorf("%s (untouched for %s): removed %v", name, d, gone)
		}
	}
	if got := keys(t, l, ""); !slices.Equal(got, []string{"docs/2026/11/blob"}) {
		t.Errorf("blobs left %q", got)
	}
	// On S3 the leftovers are unfinished multipart uploads: see
	// TestRealS3/RemoveInterruptedUploadsAbortsOnlyIdleOnes.
}

// TestPutKeepsItsTempFileFresh: a Put whose client has stalled still
// touches its temporary file, so RemoveInterruptedUploads run by another
// server (or at start-up of a second one) leaves it alone and the upload
// completes.
func TestPutKeepsItsTempFileFresh(t *testing.T) {
	t.Parallel()
	l := newLocal(t)
	l.heartbeat = 10 * time.Millisecond
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() { done <- l.Put(context.Background(), "docs/2026/11/slow", pr) }()
	pw.Write([]byte("first part"))
	var tmp string
	for deadline := time.Now().Add(5 * time.Second); tmp == ""; {
		matches, _ := filepath.Glob(filepath.Join(l.Dir(), "docs/2026/11/.put-*"))
		if len(matches) == 1 {
			tmp = matches[0]
		} else if time.Now().After(deadline) {
			t.Fatal("no temporary file")
		}
	}
	old := time.Now().Add(-time.Hour)
	os.Chtimes(tmp, old, old) // as if the client had sent nothing for an hour
	time.Sleep(100 * time.Millisecond)
	if n, err := RemoveInterruptedUploads(context.Background(), l, time.Now().Add(-TempIdle)); n != 0 || err != nil {
		t.Fatalf("a live upload's temporary file was removed: %d, %v", n, err)
	}
	pw.Write([]byte(" and the rest"))
	pw.Close()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := read(t, l, "docs/2026/11/slow"); string(got) != "first part and the rest" {
		t.Fatalf("stored %q", got)
	}
}
