package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"ite/internal/childproc"
	"ite/internal/filelock"
)

// ErrNotInstalled means no PostgreSQL server binaries were found and they
// could not be installed (not root, or no apt-get). Test harnesses skip on
// it; the error's text says what to install.
var ErrNotInstalled = errors.New("PostgreSQL server binaries (initdb, postgres) not found")

// libDir is where Debian and Ubuntu install each major version's binaries.
var libDir = "/usr/lib/postgresql"

// findOrInstall returns the directory holding initdb and postgres. want is
// the major version of an existing cluster ("" for none): its binaries are
// preferred, since only they can run it.
func findOrInstall(ctx context.Context, want string, log io.Writer) (string, error) {
	if dir := findBinDir(want); dir != "" {
		return dir, nil
	}
	notInstalled := fmt.Errorf("%w (looked in `pg_config --bindir`, %s/*/bin and PATH): install them with `sudo apt-get install postgresql` on Debian/Ubuntu (`sudo dnf install postgresql-server` on Fedora, `brew install postgresql` on macOS), or use an existing server",
		ErrNotInstalled, libDir)
	if os.Geteuid() != 0 {
		return "", notInstalled
	}
	if _, err := exec.LookPath("apt-get"); err != nil {
		return "", notInstalled
	}
	// Test binaries of `go test ./...` start at once on a fresh machine:
	// one installs, the others wait here and then find the binaries.
	unlock, err := filelock.Lock(ctx, filepath.Join(os.TempDir(), "ite-pglocal-install.lock"))
	if err != nil {
		return "", fmt.Errorf("pglocal: %w", err)
	}
	defer unlock()
	if dir := findBinDir(want); dir != "" {
		return dir, nil
	}
	if err := aptInstall(ctx, log); err != nil {
		return "", fmt.Errorf("pglocal: install PostgreSQL: %w", err)
	}
	if dir := findBinDir(want); dir != "" {
		return dir, nil
	}
	return "", notInstalled
}

// aptInstall runs `apt-get install -y postgresql`, first refreshing the
// package lists if apt does not know the package (a fresh machine or
// container has none) and again if the install fails on stale lists.
func aptInstall(ctx context.Context, log io.Writer) error {
	fmt.Fprintln(log, "pglocal: PostgreSQL is not installed; installing it with apt-get (this takes a minute)")
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, args[0], args[1:]...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		cmd.Stdout = log
		cmd.Stderr = log
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("%s: %w", strings.Join(args, " "), err)
		}
		return nil
	}
	// Wait for a dpkg lock held by another apt rather than failing at once.
	lockWait := "-oDPkg::Lock::Timeout=600"
	install := func() error {
		return run("apt-get", lockWait, "install", "-y", "--no-install-recommends", "postgresql")
	}
	updated := false
	if exec.CommandContext(ctx, "apt-cache", "show", "postgresql").Run() != nil {
		if err := run("apt-get", lockWait, "update"); err != nil {
			return err
		}
		updated = true
	}
	err := install()
	if err != nil && !updated && ctx.Err() == nil {
		if err := run("apt-get", lockWait, "update"); err != nil {
			return err
		}
		err = install()
	}
	return err
}

// findBinDir looks for the server binaries: the wanted major version's
// Debian directory, then `pg_config --bindir`, then the newest
// libDir/*/bin, then initdb on PATH (Fedora, Homebrew).
func findBinDir(want string) string {
	var candidates []string
	if want != "" {
		candidates = append(candidates, filepath.Join(libDir, want, "bin"))
	}
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		candidates = append(candidates, strings.TrimSpace(string(out)))
	}
	candidates = append(candidates, versionDirs(libDir)...)
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, filepath.Dir(p))
	}
	for _, dir := range candidates {
		if childproc.IsExecutable(filepath.Join(dir, "initdb")) && childproc.IsExecutable(filepath.Join(dir, "postgres")) {
			return dir
		}
	}
	return ""
}

// versionDirs lists root/<major>/bin, newest major first.
func versionDirs(root string) []string {
	entries, _ := os.ReadDir(root)
	type version struct {
		n   float64
		dir string
	}
	var vs []version
	for _, e := range entries {
		if n, err := strconv.ParseFloat(e.Name(), 64); err == nil {
			vs = append(vs, version{n, filepath.Join(root, e.Name(), "bin")})
		}
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].n > vs[j].n })
	dirs := make([]string, len(vs))
	for i, v := range vs {
		dirs[i] = v.dir
	}
	return dirs
}
