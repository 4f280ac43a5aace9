// Package childproc holds what the local harnesses (internal/pglocal for
// PostgreSQL, internal/s3local for SeaweedFS) share about the server
// processes they start: finding an executable, tying the child's life to
// ours, and reading its log to explain a failed start.
package childproc

import "os"

// IsExecutable reports whether path is a regular file someone may run.
func IsExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0
}

// LogSince returns what a server wrote to its log since offset, at most
// the last 4 KiB, to explain a failed start.
func LogSince(path string, offset int64) string {
	b, err := os.ReadFile(path)
	if err != nil || int64(len(b)) < offset {
		return ""
	}
	b = b[offset:]
	if len(b) > 4096 {
		b = b[len(b)-4096:]
	}
	return string(b)
}
