package childproc

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestLogSinceReadsOnlyThisStartAndItsEnd(t *testing.T) {
	log := filepath.Join(t.TempDir(), "server.log")
	earlier := "an earlier start's lines\n"
	now := strings.Repeat("x", 5000) + "FATAL: address already in use\n"
	if err := os.WriteFile(log, []byte(earlier+now), 0o600); err != nil {
		t.Fatal(err)
	}
	tail := LogSince(log, int64(len(earlier)))
	if len(tail) != 4096 || strings.Contains(tail, "earlier") || !strings.HasSuffix(tail, "address already in use\n") {
		t.Fatalf("tail of %d bytes ends %q", len(tail), tail[len(tail)-40:])
	}
	if LogSince(log, int64(len(earlier+now))+1) != "" || LogSince(filepath.Join(t.TempDir(), "none"), 0) != "" {
		t.Fatal("an offset past the end or a missing log is not empty")
	}
}

func TestIsExecutable(t *testing.T) {
	dir := t.TempDir()
	run, data := filepath.Join(dir, "weed"), filepath.Join(dir, "data")
	_ = os.WriteFile(run, []byte("#!/bin/sh\n"), 0o755)
	_ = os.WriteFile(data, []byte("x"), 0o644)
	if !IsExecutable(run) || IsExecutable(data) || IsExecutable(dir) || IsExecutable(filepath.Join(dir, "none")) {
		t.Fatal("IsExecutable")
	}
}
