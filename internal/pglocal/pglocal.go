// Package pglocal runs a private PostgreSQL server from the binaries
// installed on this machine, so that `make run` and the tests work on a fresh
// machine without anyone setting up a database by hand.
//
// The server listens on a Unix socket only, in a short private directory under
// /tmp, and never on TCP. That keeps trust authentication (no password) safe:
// only the socket directory's owner (and root) can connect. It also means no
// port has to be found free, so any number of clusters (one per test binary
// under `go test ./...`) can start at once without racing for ports.
//
// PostgreSQL refuses to run as root. When this process is root, initdb and
// postgres run as the `postgres` user (setuid in the child, as runuser
// would), and the data and socket directories belong to that user; otherwise
// they run as the current user.
//
// The server is a child of this process. Linux sends it SIGINT (fast
// shutdown) when this process dies, however it dies, so a crashed program or
// a test binary killed by -timeout leaves no server running. A cluster that
// was already running for the same data directory is reused instead, and
// left running by Stop.
package pglocal

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"ite/internal/childproc"
	"ite/internal/filelock"
)

// Options says where the cluster lives and how it runs.
type Options struct {
	// Dir holds the cluster: Dir/data is the data directory and
	// Dir/postgres.log the server log. Created if missing.
	Dir string
	// Database is created on first use; "ite" when empty.
	Database string
	// Ephemeral turns off fsync, full_page_writes and synchronous_commit:
	// much faster, but a machine crash can corrupt the cluster. For
	// throwaway test clusters only.
	Ephemeral bool
	// Log receives progress messages and apt-get's output (initdb's is in
	// the error when it fails); nil discards them. The server's own log goes to Dir/postgres.log.
	Log io.Writer
}

// Cluster is a running PostgreSQL server.
type Cluster struct {
	// URL reaches Options.Database as the superuser postgres, over the
	// Unix socket, for example
	// postgres://postgres@/ite?host=/tmp/itepg-123&port=5432&sslmode=disable
	URL string
	// DataDir is the cluster's data directory (Options.Dir/data).
	DataDir string
	// SocketDir holds the server's Unix socket.
	SocketDir string
	// Port names the socket file (.s.PGSQL.<Port>); no TCP port is opened.
	Port int
	// BinDir holds the PostgreSQL binaries used; empty when Reused.
	BinDir string
	// Reused is true when the server was already running and this Cluster
	// only attached to it: Stop then leaves it running.
	Reused bool

	host    string // TCP host of a reused server listening on TCP only
	log     io.Writer
	cmd     *exec.Cmd
	exited  chan struct{} // closed when the postgres child has exited
	waitErr error         // the child's exit status, set before exited closes

	stopOnce sync.Once
	stopErr  error
}

// socketPort is the port every private cluster uses: it only names the
// socket file inside the cluster's own socket directory, so it never clashes.
const socketPort = 5432

// startTimeout bounds the wait for the server to accept connections; crash
// recovery of a large dev database may take a while, a hung start should not
// hang forever.
const startTimeout = 2 * time.Minute

// Start starts the cluster in opts.Dir, creating it on first use, or
// attaches to the server already running there. It creates
// opts.Database if missing. When no PostgreSQL binaries are installed it
// installs them with apt-get if running as root, and otherwise returns an
// error wrapping ErrNotInstalled that says what to install.
//
// The caller must call Stop, which stops the server only if Start started it.
func Start(ctx context.Context, opts Options) (*Cluster, error) {
	if opts.Dir == "" {
		return nil, errors.New("pglocal: Options.Dir is empty")
	}
	if opts.Database == "" {
		opts.Database = "ite"
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("pglocal: %w", err)
	}
	// Two programs starting the same cluster at once (make run twice, or
	// serve and migrate) must not both run initdb or both start a server:
	// the second waits here and then finds the first one's server running.
	unlock, err := filelock.Lock(ctx, filepath.Join(dir, ".pglocal.lock"))
	if err != nil {
		return nil, fmt.Errorf("pglocal: lock %s: %w", dir, err)
	}
	defer unlock()
	sweepSocketDirs()

	c := &Cluster{DataDir: filepath.Join(dir, "data"), log: logw}

	reused, err := c.attach(ctx)
	if err != nil {
		return nil, err
	}
	if !reused {
		if err := c.launch(ctx, dir, opts); err != nil {
			return nil, err
		}
	}
	c.URL = c.URLFor(opts.Database)
	if err := c.createDatabase(ctx, opts.Database); err != nil {
		if stopErr := c.Stop(); stopErr != nil {
			err = errors.Join(err, stopErr)
		}
		return nil, err
	}
	return c, nil
}

// URLFor returns the URL of another database on the same server.
func (c *Cluster) URLFor(database string) string {
	u := url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + database}
	if c.SocketDir != "" {
		// host and port as query parameters: pgx and libpq both read a
		// socket directory there, and the URL stays readable.
		u.RawQuery = "host=" + queryEscape(c.SocketDir) + "&port=" + strconv.Itoa(c.Port) + "&sslmode=disable"
	} else {
		u.Host = net.JoinHostPort(c.host, strconv.Itoa(c.Port))
		u.RawQuery = "sslmode=disable"
	}
	return u.String()
}

// queryEscape escapes a query value but keeps '/', which is legal in a
// query, so that socket paths stay readable in logs.
func queryEscape(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "%2F", "/")
}

// Stop shuts the server down (fast shutdown: open transactions are rolled
// back, clients disconnected, a checkpoint written), the same as
// `pg_ctl stop -m fast`, and waits for it to exit. It does nothing for a
// Reused cluster and is safe to call more than once.
func (c *Cluster) Stop() error {
	if c == nil || c.cmd == nil {
		return nil
	}
	c.stopOnce.Do(func() {
		c.stopErr = c.shutdown()
		// The socket directory is ours alone. A server that crashed
		// leaves its socket and lock file in it.
		select {
		case <-c.exited:
			_ = os.RemoveAll(c.SocketDir)
		default:
		}
	})
	return c.stopErr
}

func (c *Cluster) shutdown() error {
	select {
	case <-c.exited:
		return fmt.Errorf("pglocal: postgres had already exited: %v", c.waitErr)
	default:
	}
	// SIGINT is what `pg_ctl stop -m fast` sends; the server is our child,
	// so we signal and reap it ourselves. Escalate if it hangs.
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, time.Minute}, {syscall.SIGQUIT, 10 * time.Second}, {syscall.SIGKILL, 10 * time.Second}}
	for _, s := range steps {
		if err := c.cmd.Process.Signal(s.sig); err != nil && !errors.Is(err, os.ErrProcessDone) {
			return fmt.Errorf("pglocal: stop postgres: %w", err)
		}
		select {
		case <-c.exited:
			if s.sig != syscall.SIGINT {
				return fmt.Errorf("pglocal: postgres ignored fast shutdown; stopped with %v", s.sig)
			}
			if c.waitErr != nil {
				return fmt.Errorf("pglocal: postgres exited with %v", c.waitErr)
			}
			return nil
		case <-time.After(s.wait):
		}
	}
	return fmt.Errorf("pglocal: postgres (pid %d) did not stop", c.cmd.Process.Pid)
}

// attach reuses a server already running on the data directory. A
// postmaster.pid left behind by a crash is removed, so it cannot stop the
// next start.
func (c *Cluster) attach(ctx context.Context) (bool, error) {
	deadline := time.Now().Add(startTimeout)
	for {
		pf, err := readPidFile(c.DataDir)
		if errors.Is(err, os.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("pglocal: %w", err)
		}
		if !pf.alive(c.DataDir) {
			fmt.Fprintf(c.log, "pglocal: removing stale %s (pid %d is not running)\n", pf.path, pf.pid)
			if err := os.Remove(pf.path); err != nil && !errors.Is(err, os.ErrNotExist) {
				return false, fmt.Errorf("pglocal: remove stale pid file: %w", err)
			}
			return false, nil
		}
		if pf.status == "ready" {
			c.Reused = true
			c.Port = pf.port
			c.SocketDir = pf.socketDir
			if c.SocketDir == "" {
				// Not one of ours: someone started it listening on TCP.
				c.host = pf.listenAddr
				if c.host == "" || c.host == "*" || c.host == "0.0.0.0" {
					c.host = "127.0.0.1"
				} else if c.host == "::" {
					c.host = "::1"
				}
			}
			fmt.Fprintf(c.log, "pglocal: reusing the PostgreSQL server already running on %s (pid %d)\n", c.DataDir, pf.pid)
			return true, nil
		}
		// Starting up or shutting down: wait to see which.
		if time.Now().After(deadline) {
			return false, fmt.Errorf("pglocal: the PostgreSQL server on %s (pid %d) stayed %q; stop it with `pg_ctl -D %s stop`", c.DataDir, pf.pid, pf.status, c.DataDir)
		}
		select {
		case <-ctx.Done():
			return false, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// launch creates the cluster if needed and starts the server as our child.
func (c *Cluster) launch(ctx context.Context, dir string, opts Options) error {
	clusterVersion := readVersionFile(c.DataDir)
	bin, err := findOrInstall(ctx, clusterVersion, c.log)
	if err != nil {
		return err
	}
	c.BinDir = bin
	// After installing: the package is what creates the postgres user.
	acct, err := serverAccount()
	if err != nil {
		return err
	}
	if clusterVersion != "" {
		if err := acct.canReach(ctx, c.DataDir); err != nil {
			return err
		}
		if err := c.checkVersion(ctx, acct, clusterVersion); err != nil {
			return err
		}
	} else {
		if err := c.initdb(ctx, acct, opts.Ephemeral); err != nil {
			return err
		}
	}

	socketDir, err := os.MkdirTemp("/tmp", "itepg-")
	if err != nil {
		return fmt.Errorf("pglocal: socket directory: %w", err)
	}
	if err := acct.own(socketDir); err != nil {
		_ = os.Remove(socketDir)
		return fmt.Errorf("pglocal: socket directory: %w", err)
	}
	c.SocketDir = socketDir
	c.Port = socketPort

	logPath := filepath.Join(dir, "postgres.log")
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		_ = os.Remove(socketDir)
		return fmt.Errorf("pglocal: server log: %w", err)
	}
	defer logFile.Close() // the child keeps its own descriptor
	logStart, _ := logFile.Seek(0, io.SeekEnd)

	args := []string{
		"-D", c.DataDir,
		"-c", "listen_addresses=",
		"-c", "unix_socket_directories=" + socketDir,
		"-c", "port=" + strconv.Itoa(socketPort),
	}
	if opts.Ephemeral {
		args = append(args,
			"-c", "fsync=off",
			"-c", "full_page_writes=off",
			"-c", "synchronous_commit=off",
			// Parallel tests each hold a small pool on their own database.
			"-c", "max_connections=300",
			// Dynamic shared memory in the data directory rather than
			// /dev/shm, so a killed server leaves nothing outside it.
			"-c", "dynamic_shared_memory_type=mmap",
		)
	}
	fmt.Fprintf(c.log, "pglocal: starting PostgreSQL on %s (socket in %s, log %s)\n", c.DataDir, socketDir, logPath)
	for attempt := 1; ; attempt++ {
		cmd := acct.command(context.Background(), filepath.Join(bin, "postgres"), args...)
		cmd.Stdout = logFile
		cmd.Stderr = logFile
		// Own process group: Ctrl-C in a terminal reaches our program,
		// which then stops the server in order, after its own clients.
		cmd.SysProcAttr.Setpgid = true
		childproc.DieWithParent(cmd.SysProcAttr, syscall.SIGINT)
		if err := c.spawn(cmd); err != nil {
			_ = os.Remove(socketDir)
			return fmt.Errorf("pglocal: start postgres: %w", err)
		}
		err := c.waitReady(ctx)
		if err == nil {
			return nil
		}
		tail := childproc.LogSince(logPath, logStart)
		// After a crash the killed server's backends may hold its shared
		// memory a moment longer; they exit once they notice. Wait for it.
		if attempt < startRetries && strings.Contains(tail, "pre-existing shared memory block") && ctx.Err() == nil {
			fmt.Fprintf(c.log, "pglocal: the previous server's processes are still exiting; retrying (%d)\n", attempt)
			time.Sleep(startRetryWait)
			logStart, _ = logFile.Seek(0, io.SeekEnd)
			continue
		}
		_ = c.Stop()
		return fmt.Errorf("%w\n%s", err, tail)
	}
}

// A restart after a crash may find the crashed server's processes still
// exiting; Start retries this often, this far apart.
const (
	startRetries   = 20
	startRetryWait = 250 * time.Millisecond
)

// spawn starts cmd from a goroutine locked to its OS thread, which lives
// until the child exits: Linux sends the parent-death signal when the
// creating thread ends, not the process (go.dev/issue/27505).
func (c *Cluster) spawn(cmd *exec.Cmd) error {
	started := make(chan error, 1)
	c.exited = make(chan struct{})
	go func() {
		runtime.LockOSThread()
		// No UnlockOSThread: when this goroutine ends the thread is
		// discarded, and by then the child has exited.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		c.cmd = cmd
		started <- nil
		c.waitErr = cmd.Wait()
		close(c.exited)
	}()
	return <-started
}

// waitReady waits until postmaster.pid says the server accepts connections.
func (c *Cluster) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		pf, err := readPidFile(c.DataDir)
		if err == nil && pf.pid == c.cmd.Process.Pid && pf.status == "ready" {
			return nil
		}
		select {
		case <-c.exited:
			return fmt.Errorf("pglocal: postgres exited during start (%v); its log follows", c.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("pglocal: postgres did not become ready: %w; its log follows", ctx.Err())
		case <-tick.C:
		}
	}
}

// initdb creates the cluster: superuser postgres, trust authentication on
// the Unix socket only (the socket directory's permissions are the access
// control), UTF8.
func (c *Cluster) initdb(ctx context.Context, acct *account, ephemeral bool) error {
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	entries, err := os.ReadDir(c.DataDir)
	if err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	if len(entries) > 0 {
		return fmt.Errorf("pglocal: %s is not empty and holds no PostgreSQL cluster (no PG_VERSION): move it away or remove it", c.DataDir)
	}
	if err := acct.own(c.DataDir); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	if err := acct.canReach(ctx, c.DataDir); err != nil {
		return err
	}
	fmt.Fprintf(c.log, "pglocal: creating a PostgreSQL cluster in %s\n", c.DataDir)
	// C.UTF-8 classifies non-ASCII characters properly; plain C is the
	// fallback on systems without that locale. Both sort by code point, so
	// results never depend on the machine's locale data.
	var errs []error
	for _, locale := range []string{"C.UTF-8", "C"} {
		args := []string{
			"-D", c.DataDir, "-U", "postgres",
			"--auth-local=trust", "--auth-host=reject",
			"--encoding=UTF8", "--locale=" + locale,
		}
		if ephemeral {
			args = append(args, "--no-sync")
		}
		var out bytes.Buffer
		cmd := acct.command(ctx, filepath.Join(c.BinDir, "initdb"), args...)
		// Only on failure: initdb's chatter ends with instructions to
		// start the server by hand, which would mislead here.
		cmd.Stdout = &out
		cmd.Stderr = &out
		err := cmd.Run()
		if err == nil {
			return nil
		}
		errs = append(errs, fmt.Errorf("initdb --locale=%s: %w\n%s", locale, err, out.String()))
		if ctx.Err() != nil {
			break
		}
	}
	return fmt.Errorf("pglocal: %w", errors.Join(errs...))
}

// checkVersion refuses to start a cluster with binaries of another major
// version, which PostgreSQL would refuse with a less helpful message.
func (c *Cluster) checkVersion(ctx context.Context, acct *account, clusterVersion string) error {
	if clusterVersion == "" {
		return nil
	}
	out, err := acct.command(ctx, filepath.Join(c.BinDir, "postgres"), "--version").Output()
	if err != nil {
		return fmt.Errorf("pglocal: %s/postgres --version: %w", c.BinDir, err)
	}
	if v := majorVersion(string(out)); v != clusterVersion {
		return fmt.Errorf("pglocal: the cluster in %s was created by PostgreSQL %s but %s is version %s: install PostgreSQL %s (apt-get install postgresql-%s), or remove %s to start afresh (its data is lost)",
			c.DataDir, clusterVersion, c.BinDir, v, clusterVersion, clusterVersion, c.DataDir)
	}
	return nil
}

// majorVersion extracts "15" from "postgres (PostgreSQL) 15.14 (Debian ...)".
func majorVersion(versionOutput string) string {
	_, rest, ok := strings.Cut(versionOutput, ") ")
	if !ok {
		return ""
	}
	v := strings.Fields(rest)
	if len(v) == 0 {
		return ""
	}
	// Keep the numeric part: "18beta1" is major version 18.
	num := v[0]
	if i := strings.IndexFunc(num, func(r rune) bool { return r != '.' && (r < '0' || r > '9') }); i >= 0 {
		num = num[:i]
	}
	major, minor, _ := strings.Cut(num, ".")
	if n, err := strconv.Atoi(major); err == nil && n < 10 {
		// Before 10 the major version had two parts (9.6).
		return major + "." + strings.SplitN(minor, ".", 2)[0]
	}
	return major
}

func readVersionFile(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// createDatabase creates the application database unless it exists.
func (c *Cluster) createDatabase(ctx context.Context, name string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, c.URLFor("postgres"))
	if err != nil {
		if c.Reused {
			return fmt.Errorf("pglocal: a PostgreSQL server is running on %s but cannot be reached (%w): stop it with `pg_ctl -D %s stop -m fast`", c.DataDir, err, c.DataDir)
		}
		return fmt.Errorf("pglocal: connect: %w", err)
	}
	defer conn.Close(context.Background())
	var exists bool
	if err := conn.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, name).Scan(&exists); err != nil {
		return fmt.Errorf("pglocal: %w", err)
	}
	if exists {
		return nil
	}
	_, err = conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize())
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "42P04" {
		return nil // created meanwhile by a program that reused this server
	}
	if err != nil {
		return fmt.Errorf("pglocal: create database %s: %w", name, err)
	}
	fmt.Fprintf(c.log, "pglocal: created database %s\n", name)
	return nil
}

// sweepSocketDirs removes socket directories of servers that are gone:
// one whose owner died (and took the server with it) is left behind, empty
// after a clean shutdown or holding a dead server's socket after a crash.
// The age check spares a directory just made for a server still starting.
func sweepSocketDirs() {
	dirs, _ := filepath.Glob("/tmp/itepg-*")
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil || !fi.IsDir() || time.Since(fi.ModTime()) < 10*time.Minute {
			continue
		}
		if os.Remove(d) == nil { // it was empty
			continue
		}
		// The socket's lock file names the server's pid (first line).
		locks, _ := filepath.Glob(filepath.Join(d, ".s.PGSQL.*.lock"))
		live := false
		for _, l := range locks {
			pid, err := readLockPid(l)
			if err != nil {
				live = true // cannot tell: leave it
				continue
			}
			if err := syscall.Kill(pid, 0); err == nil || errors.Is(err, syscall.EPERM) {
				live = true
			}
		}
		if !live {
			_ = os.RemoveAll(d)
		}
	}
}

func readLockPid(path string) (int, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	first, _, _ := strings.Cut(string(b), "\n")
	return strconv.Atoi(strings.TrimSpace(first))
}
