package pglocal

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// pidFile is what a running server writes to DataDir/postmaster.pid: one
// value a line (see "LOCK_FILE_LINE_*" in PostgreSQL's pidfile.h).
type pidFile struct {
	path       string
	pid        int
	port       int
	socketDir  string // first of unix_socket_directories, "" if none
	listenAddr string // first of listen_addresses, "" if none
	status     string // "starting", "stopping", "ready" or "standby"
}

func readPidFile(dataDir string) (*pidFile, error) {
	path := filepath.Join(dataDir, "postmaster.pid")
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	lines := strings.Split(string(b), "\n")
	line := func(n int) string { // 1-based, like pidfile.h
		if n <= len(lines) {
			return strings.TrimSpace(lines[n-1])
		}
		return ""
	}
	pf := &pidFile{path: path, socketDir: line(5), listenAddr: line(6), status: line(8)}
	// A file cut short by a crash mid-write has no usable pid: stale.
	pf.pid, _ = strconv.Atoi(line(1))
	pf.port, _ = strconv.Atoi(line(4))
	return pf, nil
}

// alive reports whether the pid file belongs to a running server for
// dataDir. After a crash the recorded pid may have been reused by an
// unrelated process, which PostgreSQL itself would take for a running
// server and refuse to start; so the process must also be a postmaster
// whose working directory is dataDir (a postmaster chdirs into it).
func (pf *pidFile) alive(dataDir string) bool {
	if pf.pid <= 0 {
		return false
	}
	if err := syscall.Kill(pf.pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	proc := fmt.Sprintf("/proc/%d", pf.pid)
	if cwd, err := os.Stat(proc + "/cwd"); err == nil {
		want, err := os.Stat(dataDir)
		return err == nil && os.SameFile(cwd, want)
	}
	if cmdline, err := os.ReadFile(proc + "/cmdline"); err == nil {
		return bytes.Contains(cmdline, []byte("postgres"))
	}
	// No /proc to look at: trust the pid, as PostgreSQL does.
	return true
}
