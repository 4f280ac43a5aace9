// Package filelock serialises the test harnesses' one-time set-up across
// processes: `go test ./...` starts several test binaries at once, and only
// one of them may install PostgreSQL (internal/pglocal) or build SeaweedFS
// (internal/s3local) while the others wait for the result.
package filelock

import (
	"context"
	"os"
	"syscall"
)

// Lock takes an exclusive flock on path, waiting for it but giving up when
// ctx ends. The lock goes with the process, so a crash never leaves it held.
func Lock(ctx context.Context, path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, err
	}
	locked := make(chan error, 1)
	go func() { locked <- syscall.Flock(int(f.Fd()), syscall.LOCK_EX) }()
	select {
	case err := <-locked:
		if err != nil {
			f.Close()
			return nil, err
		}
		return func() { f.Close() }, nil
	case <-ctx.Done():
		// Closing the file releases the lock if the goroutine gets it later.
		go func() { <-locked; f.Close() }()
		return nil, ctx.Err()
	}
}
