// Package s3test gives tests a bucket of their own on a real S3 server:
// the first test that asks starts a private SeaweedFS (internal/s3local)
// for the whole test binary, and every NewBucket is a fresh bucket on it.
//
// Use it from the package's TestMain, so the server is stopped and its
// directory removed when the tests end:
//
//	func TestMain(m *testing.M) { os.Exit(s3test.After(m.Run())) }
//
// There is no silent skip: when the server cannot be had (the weed binary
// is missing and cannot be built, or it does not start) the tests that
// need it fail, so a CI machine that lost its S3 server says so. Setting
// ITE_SKIP_S3=1 skips them instead, with a message naming the variable.
package s3test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ite/internal/s3local"
)

// EnvSkip names the variable that, set to 1, skips the S3 tests.
const EnvSkip = "ITE_SKIP_S3"

// Bucket is one test's bucket and how to reach it.
type Bucket struct {
	Endpoint  string // host:port, plain HTTP, path-style
	Name      string
	AccessKey string
	SecretKey string
	Region    string
	// Server is the S3 server the bucket lives on.
	Server *s3local.Server
}

// Spec is the bucket as BLOB_STORE names it.
func (b Bucket) Spec() string {
	return "s3://" + b.Name + "?endpoint=" + b.Endpoint + "&tls=false&path_style=true&region=" + b.Region
}

// Env returns the BLOB_STORE and credential variables that reach the bucket.
func (b Bucket) Env() map[string]string {
	return map[string]string{"BLOB_STORE": b.Spec(), "BLOB_S3_ACCESS_KEY": b.AccessKey, "BLOB_S3_SECRET_KEY": b.SecretKey}
}

// Client returns a minio-go client for the bucket's server, for a test to
// look at or plant objects behind the app's back.
func (b Bucket) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := b.Server.Client()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

var (
	mu       sync.Mutex
	srv      *s3local.Server
	srvDir   string
	setupErr error
	setUp    bool
)

// dirPrefix names the servers' directories, so that those of test
// binaries that died can be found and removed.
const dirPrefix = "ite-s3test-"

// server returns the test binary's server, starting it on first use.
func server(t testing.TB) *s3local.Server {
	t.Helper()
	if os.Getenv(EnvSkip) == "1" {
		t.Skipf("s3test: %s=1: the tests against a real S3 server (SeaweedFS) are skipped", EnvSkip)
	}
	mu.Lock()
	defer mu.Unlock()
	if !setUp {
		setUp = true
		srv, srvDir, setupErr = start()
	}
	if setupErr != nil {
		t.Fatalf("s3test: no S3 server for this test (set %s=1 to skip the S3 tests explicitly): %v", EnvSkip, setupErr)
	}
	return srv
}

func start() (*s3local.Server, string, error) {
	sweep()
	// Long enough to build weed on a fresh machine.
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	dir, err := os.MkdirTemp("", dirPrefix)
	if err != nil {
		return nil, "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "owner.pid"), []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	s, err := s3local.Start(ctx, s3local.Options{Dir: dir, Log: os.Stderr})
	if err != nil {
		os.RemoveAll(dir)
		return nil, "", err
	}
	return s, dir, nil
}

// NewBucket creates an empty bucket for this test on the shared server.
func NewBucket(t testing.TB) Bucket {
	t.Helper()
	s := server(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	name, err := s.CreateBucket(ctx, "ite-test")
	if err != nil {
		t.Fatal(err)
	}
	return Bucket{Endpoint: s.Endpoint, Name: name, AccessKey: s.AccessKey, SecretKey: s.SecretKey, Region: s3local.Region, Server: s}
}

// After stops the server, if one was started, and removes its directory.
// It returns code, or 1 if the tests passed but the clean-up failed.
func After(code int) int {
	mu.Lock()
	defer mu.Unlock()
	if srv == nil {
		return code
	}
	err := srv.Stop()
	err = errors.Join(err, os.RemoveAll(srvDir))
	srv = nil
	if err != nil {
		fmt.Fprintln(os.Stderr, "s3test:", err)
		if code == 0 {
			code = 1
		}
	}
	return code
}

// sweep removes the directories of test binaries that died without
// cleaning up (their servers died with them).
func sweep() {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), dirPrefix+"*"))
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(d, "owner.pid"))
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(string(b))
		if err != nil {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(d)
		}
	}
}
