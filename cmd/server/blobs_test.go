package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"ite/internal/blob"
	"ite/internal/postgres/pgtest"
)

// plantUploads leaves in dataDir's blob store what a server killed
// mid-upload leaves (an old temporary file), an upload in progress on
// another server (a fresh one) and an orphan blob two days old.
func plantUploads(t *testing.T, dataDir string) (old, fresh, orphan string) {
	t.Helper()
	store, err := blob.NewLocal(filepath.Join(dataDir, "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	key := blob.NewKey("docs", time.Now().AddDate(0, 0, -2))
	if err := store.Put(context.Background(), key, strings.NewReader("%PDF-1.4 orphan")); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(store.Dir(), filepath.FromSlash(filepath.Dir(key)))
	old, fresh, orphan = filepath.Join(dir, ".put-killed"), filepath.Join(dir, ".put-live"), filepath.Join(store.Dir(), filepath.FromSlash(key))
	for _, p := range []string{old, fresh} {
		if err := os.WriteFile(p, bytes.Repeat([]byte("partial "), 1000), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	long := time.Now().Add(-time.Hour)
	os.Chtimes(old, long, long)
	twoDays := time.Now().Add(-48 * time.Hour)
	os.Chtimes(orphan, twoDays, twoDays)
	return old, fresh, orphan
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestBlobsSweepCommand(t *testing.T) {
	url, dir := pgtest.NewURL(t), t.TempDir()
	old, fresh, orphan := plantUploads(t, dir)
	var out, errb bytes.Buffer
	code := run(context.Background(), []string{"blobs", "sweep"}, env(map[string]string{"DATABASE_URL": url, "DATA_DIR": dir}), nil, &out, &errb)
	if code != 0 || !strings.Contains(out.String(), "删除 1 个中断上传留下的临时文件") || !strings.Contains(out.String(), "1 个无材料记录引用的文件") {
		t.Fatalf("blobs sweep: %d %s %s", code, out.String(), errb.String())
	}
	if exists(old) || exists(orphan) {
		t.Fatal("the interrupted upload's temporary file or the orphan blob survived")
	}
	if !exists(fresh) {
		t.Fatal("a fresh temporary file (another server's upload in progress) was removed")
	}
}

func TestServeRemovesInterruptedUploadsAtStart(t *testing.T) {
	url, dir := pgtest.NewURL(t), t.TempDir()
	old, fresh, orphan := plantUploads(t, dir)
	ctx, cancel := context.WithCancel(context.Background())
	done, _ := serveReady(t, ctx, nil, map[string]string{"DATABASE_URL": url, "DATA_DIR": dir})
	defer func() {
		cancel()
		<-done
	}()
	if exists(old) {
		t.Fatal("the temporary file of an interrupted upload survived start-up")
	}
	if !exists(fresh) || !exists(orphan) {
		t.Fatal("start-up removed a fresh temporary file or a blob (orphans wait for the sweep's 24 hours)")
	}
}
