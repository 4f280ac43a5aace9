package s3local

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"os"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// TestStartServesSignedS3AndStops starts a server, uses it through S3
// with its identity, finds a request signed with another secret refused,
// and checks that Stop leaves nothing listening.
func TestStartServesSignedS3AndStops(t *testing.T) {
	if os.Getenv("ITE_SKIP_S3") == "1" {
		t.Skip("ITE_SKIP_S3=1: the tests against a real S3 server (SeaweedFS) are skipped")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	s, err := Start(ctx, Options{Dir: t.TempDir(), Log: os.Stderr})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Stop() })

	bucket, err := s.CreateBucket(ctx, "ite-s3local")
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Client()
	if err != nil {
		t.Fatal(err)
	}
	body := []byte("申报材料")
	if _, err := c.PutObject(ctx, bucket, "docs/a", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	obj, err := c.GetObject(ctx, bucket, "docs/a", minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || !bytes.Equal(got, body) {
		t.Fatalf("read back %q, %v", got, err)
	}

	forged, err := minio.New(s.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s.AccessKey, "wrong-secret", ""),
		Region: Region, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := forged.PutObject(ctx, bucket, "docs/forged", bytes.NewReader(body), int64(len(body)), minio.PutObjectOptions{}); err == nil {
		t.Fatal("a request signed with the wrong secret was accepted")
	}
	if _, err := c.StatObject(ctx, bucket, "docs/forged", minio.StatObjectOptions{}); err == nil {
		t.Fatal("the forged object exists")
	}

	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if s.Running() {
		t.Fatal("weed still running after Stop")
	}
	conn, err := net.DialTimeout("tcp", s.Endpoint, time.Second)
	if err == nil {
		conn.Close()
		t.Fatal("the S3 port still answers after Stop")
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("dial after Stop: %v", err)
	}
}
