package pglocal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// account is the OS user the server runs as: the postgres user when we are
// root (PostgreSQL refuses to run as root), nil for "this process's user".
type account struct {
	uid, gid uint32
	groups   []uint32
	home     string
}

func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pglocal: PostgreSQL refuses to run as root and there is no user `postgres` to run it as (%w): install PostgreSQL from packages, which creates it, or `useradd --system --home-dir /var/lib/postgresql postgres`", err)
	}
	a := &account{home: u.HomeDir}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pglocal: user postgres: %w", err)
	}
	a.uid, a.gid = uint32(uid), uint32(gid)
	// Supplementary groups too (ssl-cert on Debian), as runuser would set.
	gids, _ := u.GroupIds()
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			a.groups = append(a.groups, uint32(n))
		}
	}
	return a, nil
}

// command prepares a PostgreSQL program to run as the account. PG*
// variables are dropped from the environment: PGPORT or PGDATA meant for
// another server would otherwise change what initdb and postgres do.
func (a *account) command(ctx context.Context, path string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, path, args...)
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") {
			continue
		}
		if a != nil && strings.HasPrefix(kv, "HOME=") {
			continue
		}
		env = append(env, kv)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{}
	if a != nil {
		env = append(env, "HOME="+a.home)
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: a.uid, Gid: a.gid, Groups: a.groups}
		// Root's working directory may be closed to postgres.
		cmd.Dir = "/"
	}
	cmd.Env = env
	return cmd
}

// own gives path to the account, private to it: the data directory must
// be, and the socket directory's permissions are what limit who may connect.
func (a *account) own(path string) error {
	if err := os.Chmod(path, 0o700); err != nil {
		return err
	}
	if a == nil {
		return nil
	}
	return os.Chown(path, int(a.uid), int(a.gid))
}

// canReach checks that the account can use dir. As root that fails when a
// parent directory is closed to other users (/root is 0700), and initdb
// would then fail with a message that does not say why.
func (a *account) canReach(ctx context.Context, dir string) error {
	if a == nil {
		return nil
	}
	test, err := exec.LookPath("test")
	if err != nil {
		return nil // cannot check; initdb will report the problem
	}
	if a.command(ctx, test, "-w", dir, "-a", "-x", dir).Run() == nil {
		return nil
	}
	// Name the directories in the way, so the message says what to change.
	var closed []string
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o001 == 0 {
			closed = append(closed, p)
		}
		if p == filepath.Dir(p) {
			break
		}
	}
	if len(closed) == 0 {
		closed = []string{dir}
	}
	return fmt.Errorf("pglocal: PostgreSQL runs as user postgres (it refuses root) and that user cannot reach %s: %s closed to other users. Put the data directory elsewhere (for example under /var/lib or /srv), or open the path with `chmod o+x %s`",
		dir, strings.Join(closed, ", "), strings.Join(closed, " "))
}
