// Package s3local runs a private S3 server, SeaweedFS (`weed server -s3`,
// Apache-2.0), so that the tests exercise the S3 blob store against a real
// implementation of the protocol, the way internal/pglocal gives them a
// real PostgreSQL.
//
// The server listens on loopback only, on ports picked free at start, with
// its data in a private directory. S3 requests must be signed with the one
// identity Start writes into the server's configuration (an unsigned or
// wrongly signed request is refused), as they would be in production.
//
// The binary is the pinned SeaweedFS build (see Binary): built from the Go
// module proxy on first use into the user's cache directory, or named by
// ITE_WEED. The server is a child of this process and receives SIGTERM
// when this process dies, however it dies.
package s3local

import (
	"ite/internal/childproc"

	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// Region is what the server answers for every bucket.
const Region = "us-east-1"

// Options says where the server keeps its data.
type Options struct {
	// Dir holds the data (Dir/data), the S3 configuration and the server
	// log (Dir/weed.log). Created if missing; Stop leaves it to the caller.
	Dir string
	// Log receives progress messages (and the build's output on a fresh
	// machine); nil discards them.
	Log io.Writer
}

// Server is a running SeaweedFS with its S3 gateway.
type Server struct {
	// Endpoint is the S3 API's host:port (plain HTTP, path-style).
	Endpoint string
	// AccessKey and SecretKey are the identity allowed to use the server.
	AccessKey, SecretKey string
	// FilerURL is the filer's HTTP address (http://host:port). Buckets
	// are the filer's directories /buckets/NAME; tests use it to see what
	// an object looks like inside the store.
	FilerURL string
	// Binary is the weed that runs.
	Binary string

	dir     string
	cmd     *exec.Cmd
	exited  chan struct{}
	waitErr error

	stopOnce sync.Once
	stopErr  error
}

// startTimeout bounds the wait for the S3 gateway to take writes: master,
// volume server, filer and gateway come up one after the other.
const startTimeout = 2 * time.Minute

// Start starts a server in opts.Dir (building the binary first if it is
// missing) and returns once an object can be written and deleted. The
// caller must call Stop.
func Start(ctx context.Context, opts Options) (*Server, error) {
	if opts.Dir == "" {
		return nil, errors.New("s3local: Options.Dir is empty")
	}
	logw := opts.Log
	if logw == nil {
		logw = io.Discard
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("s3local: %w", err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o700); err != nil {
		return nil, fmt.Errorf("s3local: %w", err)
	}
	bin, err := Binary(ctx, logw)
	if err != nil {
		return nil, err
	}
	// A port picked free can be taken by another program before weed binds
	// it (other test binaries pick ports at the same time): try again with
	// new ones.
	var last error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := launch(ctx, bin, dir)
		if err == nil {
			fmt.Fprintf(logw, "s3local: SeaweedFS S3 on %s (data in %s)\n", s.Endpoint, dir)
			return s, nil
		}
		last = err
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	return nil, last
}

var errPortTaken = errors.New("port taken")

func launch(ctx context.Context, bin, dir string) (*Server, error) {
	ports, err := freePorts(8)
	if err != nil {
		return nil, fmt.Errorf("s3local: free ports: %w", err)
	}
	s := &Server{
		Endpoint:  "127.0.0.1:" + strconv.Itoa(ports[6]),
		AccessKey: "ITE" + randomHex(8),
		SecretKey: randomHex(20),
		FilerURL:  "http://127.0.0.1:" + strconv.Itoa(ports[4]),
		Binary:    bin,
		dir:       dir,
		exited:    make(chan struct{}),
	}
	// weed reads master.toml from its working directory: grow one volume
	// at a time instead of seven, so a test's bucket costs one volume.
	if err := os.WriteFile(filepath.Join(dir, "master.toml"), []byte(masterTOML), 0o600); err != nil {
		return nil, fmt.Errorf("s3local: %w", err)
	}
	cfgPath := filepath.Join(dir, "s3.json")
	if err := writeConfig(cfgPath, s.AccessKey, s.SecretKey); err != nil {
		return nil, fmt.Errorf("s3local: %w", err)
	}
	logPath := filepath.Join(dir, "weed.log")
	logf, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("s3local: %w", err)
	}
	defer logf.Close()
	logStart, _ := logf.Seek(0, io.SeekEnd)
	p := func(i int) string { return strconv.Itoa(ports[i]) }
	// -logtostderr: the log goes to weed.log, not to files in /tmp.
	args := []string{"-logtostderr", "server",
		"-dir=" + filepath.Join(dir, "data"),
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-master.port=" + p(0), "-master.port.grpc=" + p(1),
		"-volume.port=" + p(2), "-volume.port.grpc=" + p(3),
		"-filer", "-filer.port=" + p(4), "-filer.port.grpc=" + p(5),
		"-s3", "-s3.port=" + p(6), "-s3.port.grpc=" + p(7),
		// Nothing else listens, and nothing reports to the internet.
		"-s3.port.iceberg=0", "-s3.port.lance=0", "-master.telemetry=false",
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
		"-s3.config=" + cfgPath,
		// Like the production store, the bucket must exist: a write to a
		// missing one is an error, not a new bucket.
		"-s3.autoCreateBucket=false",
		// Small volumes: a test store holds megabytes, not the default 30
		// GB. Every bucket is a collection with volumes of its own (one
		// each, see master.toml), and tests make a bucket apiece.
		"-master.volumeSizeLimitMB=64", "-volume.max=1000",
	}
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout = logf
	cmd.Stderr = logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	childproc.DieWithParent(cmd.SysProcAttr, syscall.SIGTERM)
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("s3local: start %s: %w", bin, err)
	}
	s.cmd = cmd
	go func() {
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := s.waitReady(ctx); err != nil {
		_ = s.Stop()
		tail := childproc.LogSince(logPath, logStart)
		if strings.Contains(tail, "address already in use") {
			return nil, fmt.Errorf("s3local: %w: %v", errPortTaken, err)
		}
		return nil, fmt.Errorf("s3local: %w\nweed log:\n%s", err, tail)
	}
	return s, nil
}

const masterTOML = `[master.volume_growth]
copy_1 = 1
copy_2 = 2
copy_3 = 3
copy_other = 1
`

// writeConfig writes the S3 identities: one, allowed everything, whose
// requests must be signed with its secret. No anonymous identity.
func writeConfig(path, access, secret string) error {
	cfg := map[string]any{"identities": []any{map[string]any{
		"name":        "ite",
		"credentials": []any{map[string]string{"accessKey": access, "secretKey": secret}},
		"actions":     []string{"Admin", "Read", "List", "Tagging", "Write"},
	}}}
	b, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}

// Client returns a minio-go client signed with the server's identity.
func (s *Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:       Region,
		BucketLookup: minio.BucketLookupPath,
	})
}

// waitReady waits until an object can be written, read back and deleted:
// the gateway answers before the volume server has registered, and the
// first writes then fail.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, startTimeout)
	defer cancel()
	c, err := s.Client()
	if err != nil {
		return err
	}
	probe := "ite-ready-" + randomHex(4)
	var last error
	for {
		select {
		case <-s.exited:
			return fmt.Errorf("weed exited before it was ready: %v", s.waitErr)
		case <-ctx.Done():
			return fmt.Errorf("not ready after %s: %v", startTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
		if last = s.probe(ctx, c, probe); last == nil {
			return nil
		}
	}
}

func (s *Server) probe(ctx context.Context, c *minio.Client, bucket string) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{Region: Region}); err != nil {
		if r := minio.ToErrorResponse(err); r.Code != "BucketAlreadyOwnedByYou" && r.Code != "BucketAlreadyExists" {
			return err
		}
	}
	body := []byte("ready")
	if _, err := c.PutObject(ctx, bucket, "probe", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		return err
	}
	if err := c.RemoveObject(ctx, bucket, "probe", minio.RemoveObjectOptions{}); err != nil {
		return err
	}
	return c.RemoveBucket(ctx, bucket)
}

// CreateBucket makes a new bucket with a unique name beginning with
// prefix (lower-case letters, digits and hyphens) and returns its name.
func (s *Server) CreateBucket(ctx context.Context, prefix string) (string, error) {
	c, err := s.Client()
	if err != nil {
		return "", err
	}
	name := prefix + "-" + randomHex(6)
	if err := c.MakeBucket(ctx, name, minio.MakeBucketOptions{Region: Region}); err != nil {
		return "", fmt.Errorf("s3local: create bucket %s: %w", name, err)
	}
	return name, nil
}

// Stop stops the server (SIGTERM, then SIGKILL after 10 seconds). It is
// safe to call more than once. The data directory is left for the caller.
func (s *Server) Stop() error {
	s.stopOnce.Do(func() {
		if s.cmd == nil || s.cmd.Process == nil {
			return
		}
		// weed runs in its own process group; signal all of it.
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-s.exited:
		case <-time.After(10 * time.Second):
			_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
			<-s.exited
		}
	})
	return s.stopErr
}

// Running reports whether the server process is still alive.
func (s *Server) Running() bool {
	select {
	case <-s.exited:
		return false
	default:
		return true
	}
}

// freePorts returns n distinct loopback ports that were free a moment ago.
// All listeners stay open until every port is picked, so none repeats.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for len(ports) < n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
