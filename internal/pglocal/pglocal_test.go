package pglocal

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// newDir makes a cluster directory the postgres user can reach when the
// tests run as root (t.TempDir's directories are closed to other users).
func newDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "pglocal-test-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// syncBuffer collects Start's progress log, shown when a test fails.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// start starts (or attaches to) the cluster in dir, skipping the test when
// PostgreSQL is not installed and cannot be, except under CI.
func start(t *testing.T, dir string) *Cluster {
	t.Helper()
	var log syncBuffer
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	c, err := Start(ctx, Options{Dir: dir, Ephemeral: true, Log: &log})
	if errors.Is(err, ErrNotInstalled) && os.Getenv("CI") != "true" {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("Start: %v\nlog:\n%s", err, log.String())
	}
	t.Cleanup(func() { _ = c.Stop() })
	return c
}

func query(t *testing.T, url, sql string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect %s: %v", url, err)
	}
	defer conn.Close(ctx)
	var s string
	if err := conn.QueryRow(ctx, sql).Scan(&s); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
	return s
}

func exec1(t *testing.T, url, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatalf("connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}

func reachable(url string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return false
	}
	conn.Close(ctx)
	return true
}

func TestStartReuseStop(t *testing.T) {
	dir := newDir(t)
	first := start(t, dir)
	if first.Reused {
		t.Fatal("first Start reports Reused")
	}
	if !strings.HasPrefix(first.URL, "postgres://postgres@/ite?host=/tmp/itepg-") {
		t.Errorf("URL = %q, want the ite database over a socket in /tmp/itepg-*", first.URL)
	}
	if got := query(t, first.URL, `SELECT current_database() || ' ' || current_user || ' ' || pg_encoding_to_char(encoding) FROM pg_database WHERE datname = current_database()`); got != "ite postgres UTF8" {
		t.Errorf("database, user, encoding = %q", got)
	}
	exec1(t, first.URL, `CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)`)

	t.Run("SecondStartReuses", func(t *testing.T) {
		second := start(t, dir)
		if !second.Reused || second.URL != first.URL {
			t.Fatalf("second Start: Reused=%v URL=%q, want reuse of %q", second.Reused, second.URL, first.URL)
		}
		if err := second.Stop(); err != nil {
			t.Fatal(err)
		}
		if !reachable(first.URL) {
			t.Fatal("Stop of the reusing Cluster stopped the server it did not start")
		}
	})

	t.Run("StopStopsServer", func(t *testing.T) {
		if err := first.Stop(); err != nil {
			t.Fatal(err)
		}
		if err := first.Stop(); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		if reachable(first.URL) {
			t.Fatal("server still answers after Stop")
		}
		if _, err := os.Stat(filepath.Join(first.DataDir, "postmaster.pid")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("postmaster.pid after Stop: %v", err)
		}
		if _, err := os.Stat(first.SocketDir); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("socket directory after Stop: %v", err)
		}
	})

	t.Run("RestartKeepsData", func(t *testing.T) {
		third := start(t, dir)
		if third.Reused {
			t.Fatal("Start after Stop reports Reused")
		}
		if got := query(t, third.URL, `SELECT x::text FROM kept`); got != "42" {
			t.Errorf("kept row = %q", got)
		}
	})
}

func writePidFile(t *testing.T, dataDir string, pid int) {
	t.Helper()
	content := fmt.Sprintf("%d\n%s\n%d\n5432\n/tmp/itepg-gone\n\n  5432001         0\nready   \n", pid, dataDir, time.Now().Unix())
	if err := os.WriteFile(filepath.Join(dataDir, "postmaster.pid"), []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestStalePidFileDoesNotBlockStart(t *testing.T) {
	dir := newDir(t)
	c := start(t, dir) // create the cluster
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}

	restart := func(t *testing.T) {
		t.Helper()
		c := start(t, dir)
		if c.Reused {
			t.Fatal("attached to a server that is not running")
		}
		if got := query(t, c.URL, `SELECT 'up'`); got != "up" {
			t.Fatal(got)
		}
		if err := c.Stop(); err != nil {
			t.Fatal(err)
		}
	}

	t.Run("DeadPid", func(t *testing.T) {
		p := exec.Command("true")
		if err := p.Run(); err != nil {
			t.Skip("no `true` command:", err)
		}
		writePidFile(t, c.DataDir, p.Process.Pid)
		restart(t)
	})

	t.Run("PidReusedByAnotherProgram", func(t *testing.T) {
		p := exec.Command("sleep", "60")
		if err := p.Start(); err != nil {
			t.Skip("no `sleep` command:", err)
		}
		t.Cleanup(func() { p.Process.Kill(); p.Wait() })
		writePidFile(t, c.DataDir, p.Process.Pid)
		restart(t)
	})

	t.Run("ServerKilled", func(t *testing.T) {
		killed := start(t, dir)
		if err := killed.cmd.Process.Kill(); err != nil {
			t.Fatal(err)
		}
		<-killed.exited
		if _, err := os.Stat(filepath.Join(killed.DataDir, "postmaster.pid")); err != nil {
			t.Fatalf("expected a postmaster.pid left by the killed server: %v", err)
		}
		restart(t)
	})
}

// TestServerDiesWithOwner starts a cluster in a child process, kills that
// process with SIGKILL, and checks the server goes away by itself: a test
// binary that panics or times out leaves no PostgreSQL running.
func TestServerDiesWithOwner(t *testing.T) {
	if dir := os.Getenv("PGLOCAL_OWNER_DIR"); dir != "" {
		// The child: start, report, wait to be killed.
		c, err := Start(context.Background(), Options{Dir: dir, Ephemeral: true})
		if err != nil {
			fmt.Println("ERROR", err)
			os.Exit(1)
		}
		fmt.Println("READY", c.URL)
		time.Sleep(time.Minute)
		os.Exit(1)
	}
	if runtime.GOOS != "linux" {
		t.Skip("the parent-death signal is Linux only")
	}
	dir := newDir(t)
	start(t, dir).Stop() // skip early if PostgreSQL is missing; create the cluster

	owner := exec.Command(os.Args[0], "-test.run=^TestServerDiesWithOwner$")
	owner.Env = append(os.Environ(), "PGLOCAL_OWNER_DIR="+dir)
	out, err := owner.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := owner.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { owner.Process.Kill(); owner.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	url, ok := strings.CutPrefix(strings.TrimSpace(line), "READY ")
	if !ok {
		t.Fatalf("owner said %q", line)
	}
	if !reachable(url) {
		t.Fatal("server not reachable while its owner lives")
	}
	if i := strings.Index(url, "host="); i >= 0 {
		// The owner had no chance to remove its socket directory.
		socketDir, _, _ := strings.Cut(url[i+len("host="):], "&")
		t.Cleanup(func() { os.RemoveAll(socketDir) })
	}
	if err := owner.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	owner.Wait()
	pidFile := filepath.Join(dir, "data", "postmaster.pid")
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(pidFile); errors.Is(err, os.ErrNotExist) {
			if reachable(url) {
				t.Fatal("server still answers after shutting down")
			}
			return
		}
	}
	t.Fatal("server still running 30s after its owner was killed")
}

func TestFindBinDirPrefersClusterVersion(t *testing.T) {
	root := t.TempDir()
	for _, v := range []string{"9.6", "13", "15"} {
		bin := filepath.Join(root, v, "bin")
		if err := os.MkdirAll(bin, 0o755); err != nil {
			t.Fatal(err)
		}
		for _, name := range []string{"initdb", "postgres"} {
			if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"), 0o755); err != nil {
				t.Fatal(err)
			}
		}
	}
	saved := libDir
	libDir = root
	t.Cleanup(func() { libDir = saved })

	if got, want := versionDirs(root), []string{root + "/15/bin", root + "/13/bin", root + "/9.6/bin"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("versionDirs = %v, want newest first %v", got, want)
	}
	if got := findBinDir("13"); got != filepath.Join(root, "13", "bin") {
		t.Errorf("findBinDir(13) = %q, want the cluster's own version", got)
	}
}

func TestMajorVersion(t *testing.T) {
	for in, want := range map[string]string{
		"postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)\n": "15",
		"postgres (PostgreSQL) 17.2\n":                           "17",
		"postgres (PostgreSQL) 18beta1\n":                        "18",
		"postgres (PostgreSQL) 9.6.24\n":                         "9.6",
		"garbage":                                                "",
	} {
		if got := majorVersion(in); got != want {
			t.Errorf("majorVersion(%q) = %q, want %q", in, got, want)
		}
	}
}
