package blob

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"
)

// Local stores blobs as files under a root directory (by default
// DATA_DIR/blobs), one file per key, the key's segments as directories.
//
// Put writes a temporary file next to the target, fsyncs it, renames it
// into place and fsyncs the directory, so a blob is on disk before the
// caller commits the row that references it, and a crash never leaves a
// half-written file under a real key. Files are 0600 and directories 0700:
// the documents include ID copies and credit reports.
//
// All access goes through os.Root, so even a symlink planted under the
// root cannot make the store read or write outside it.
type Local struct {
	dir string
	// heartbeat overrides tempHeartbeat (tests); zero means the default.
	heartbeat time.Duration
}

// tempPrefix marks temporary files. ValidKey refuses segments starting
// with '.', so these never collide with a blob and List never reports one.
const tempPrefix = ".put-"

// NewLocal returns a Local store rooted at dir, creating it (0700) if
// needed.
func NewLocal(dir string) (*Local, error) {
	if dir == "" {
		return nil, errors.New("blob: local store needs a directory")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("blob: create %s: %w", dir, err)
	}
	return &Local{dir: dir}, nil
}

// Dir returns the root directory.
func (l *Local) Dir() string { return l.dir }

// root opens the root for one operation. Holding it open for the
// process's life would save a syscall but give Local a Close that every
// caller must remember; an open per operation is noise next to an fsync.
func (l *Local) root() (*os.Root, error) {
	r, err := os.OpenRoot(l.dir)
	if err != nil {
		return nil, fmt.Errorf("blob: open root %s: %w", l.dir, err)
	}
	return r, nil
}

// Put implements Store.
func (l *Local) Put(ctx context.Context, key string, r io.Reader) (err error) {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := l.root()
	if err != nil {
		return err
	}
	defer root.Close()

	dir := path.Dir(key)
	if err := mkdirAllSynced(root, dir); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	tmp := path.Join(dir, tempPrefix+randomHex())
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			root.Remove(tmp)
		}
	}()
	stop := heartbeat(root, tmp, cmp.Or(l.heartbeat, tempHeartbeat))
	_, err = io.Copy(f, ctxReader{ctx, r})
	stop()
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("blob: put %s: sync: %w", key, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	if err = root.Rename(tmp, key); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	// The rename is durable only once the directory entry is; without
	// this a crash could lose a blob whose row has already committed.
	if err = syncDir(root, dir); err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	return nil
}

// Open implements Store. The *os.File it returns is also an io.Seeker.
func (l *Local) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	root, err := l.root()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(key)
	if err != nil {
		if isNotExist(err) {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, key)
		}
		return nil, fmt.Errorf("blob: open %s: %w", key, err)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("blob: open %s: %w", key, err)
		}
		return nil, fmt.Errorf("%w: %s", ErrNotFound, key) // a directory such as "docs/2026"
	}
	return f, nil
}

// Delete implements Store. It does not fsync the directory: a deletion
// undone by a crash leaves an unreferenced blob, which Sweep removes.
func (l *Local) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	root, err := l.root()
	if err != nil {
		return err
	}
	defer root.Close()
	st, err := root.Lstat(key)
	if err != nil {
		if isNotExist(err) {
			return nil
		}
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	if !st.Mode().IsRegular() {
		return nil // a directory is not a blob; never remove one by key
	}
	if err := root.Remove(key); err != nil && !isNotExist(err) {
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store. It walks only the directory that the prefix's
// complete segments name, so listing one month does not read the others.
func (l *Local) List(ctx context.Context, prefix string, fn func(key string, modTime time.Time) error) error {
	return l.walk(ctx, prefix, func(name string, d fs.DirEntry) error {
		if strings.HasPrefix(d.Name(), ".") || !d.Type().IsRegular() || !strings.HasPrefix(name, prefix) || !ValidKey(name) {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			if isNotExist(err) {
				return nil // deleted while we walked
			}
			return err
		}
		return fn(name, info.ModTime())
	})
}

// walk calls visit for every non-directory entry under prefix's
// directory, in lexical order.
func (l *Local) walk(ctx context.Context, prefix string, visit func(name string, d fs.DirEntry) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	root, err := l.root()
	if err != nil {
		return err
	}
	defer root.Close()
	start := "."
	if i := strings.LastIndexByte(prefix, '/'); i >= 0 {
		start = prefix[:i]
	}
	err = fs.WalkDir(root.FS(), start, func(name string, d fs.DirEntry, err error) error {
		if err != nil {
			if isNotExist(err) {
				return nil // no blob was ever stored under this prefix
			}
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		if d.IsDir() {
			if name != start && (strings.HasPrefix(d.Name(), ".") || !couldHold(name, prefix)) {
				return fs.SkipDir
			}
			return nil
		}
		return visit(name, d)
	})
	if err != nil {
		return fmt.Errorf("blob: list %q: %w", prefix, err)
	}
	return nil
}

// couldHold reports whether directory dir can contain keys starting with
// prefix.
func couldHold(dir, prefix string) bool {
	dir += "/"
	return strings.HasPrefix(dir, prefix) || strings.HasPrefix(prefix, dir)
}

// removeStaleTemp deletes temporary files older than olderThan under
// prefix: they are what a crash in the middle of Put leaves behind, and
// List (hence Sweep's main pass) never sees them.
func (l *Local) removeStaleTemp(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	root, err := l.root()
	if err != nil {
		return 0, err
	}
	defer root.Close()
	n := 0
	err = l.walk(ctx, prefix, func(name string, d fs.DirEntry) error {
		if !strings.HasPrefix(d.Name(), tempPrefix) || !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil || !info.ModTime().Before(olderThan) {
			return nil
		}
		if err := root.Remove(name); err != nil && !isNotExist(err) {
			return err
		}
		n++
		return nil
	})
	return n, err
}

// TempIdle is how long a temporary file of Put must have gone untouched
// before RemoveInterruptedUploads takes it for the leftover of a dead
// upload. A live Put touches its file at least every tempHeartbeat, even
// while its client sends nothing, so a file idle for ten heartbeats has no
// writer in this or any other server sharing the directory (a server
// killed mid-upload stops touching it).
const TempIdle = 10 * time.Minute

// tempHeartbeat is how often a running Put refreshes its temporary file's
// modification time.
const tempHeartbeat = time.Minute

// heartbeat touches the temporary file name every interval until the
// returned stop is called, marking it as live for RemoveInterruptedUploads.
func heartbeat(root *os.Root, name string, interval time.Duration) (stop func()) {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case now := <-t.C:
				_ = root.Chtimes(name, now, now)
			}
		}
	}()
	return func() { close(done); <-finished }
}

// mkdirAllSynced creates dir and its missing parents (0700), fsyncing
// each new directory's parent so the path to the blob is as durable as
// the blob.
func mkdirAllSynced(root *os.Root, dir string) error {
	if dir == "." {
		return nil
	}
	if st, err := root.Stat(dir); err == nil {
		if !st.IsDir() {
			return fmt.Errorf("%s is not a directory", dir)
		}
		return nil
	}
	parent := path.Dir(dir)
	if err := mkdirAllSynced(root, parent); err != nil {
		return err
	}
	if err := root.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return nil // a concurrent Put made it
		}
		return err
	}
	return syncDir(root, parent)
}

func syncDir(root *os.Root, dir string) error {
	d, err := root.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

// isNotExist also counts ENOTDIR: opening "a/b/c" when "a/b" is a blob
// means there is no blob "a/b/c", not a storage failure.
func isNotExist(err error) bool {
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)
}

func randomHex() string {
	var b [12]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b[:])
}

// ctxReader stops a copy when the request is cancelled, so an abandoned
// upload stops writing and its temporary file is removed.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
