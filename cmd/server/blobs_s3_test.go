package main

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"ite/internal/blob"
	"ite/internal/postgres/pgtest"
	"ite/internal/s3local/s3test"
)

// s3Env is the environment of a server whose documents live in bucket.
func s3Env(url, dir string, bucket s3test.Bucket) map[string]string {
	kv := bucket.Env()
	kv["DATABASE_URL"], kv["DATA_DIR"] = url, dir
	return kv
}

func objectKeys(t *testing.T, c *minio.Client, bucket string) []string {
	t.Helper()
	var ks []string
	for o := range c.ListObjects(context.Background(), bucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		ks = append(ks, o.Key)
	}
	return ks
}

// TestBlobsCommandsOnS3 runs `seed -synthetic`, `blobs verify` and `blobs
// sweep` on a real S3 server (SeaweedFS): the documents land in the
// bucket, sensitive ones sealed; verify reads every one back and names
// the ones changed or lost behind the app's back; the sweep spares what
// may still be another server's upload in progress.
func TestBlobsCommandsOnS3(t *testing.T) {
	bucket := s3test.NewBucket(t)
	url, dir := pgtest.NewURL(t), t.TempDir()
	getenv := env(s3Env(url, dir, bucket))
	ctx := context.Background()
	cmd := func(args ...string) (int, string) {
		var out, errb bytes.Buffer
		code := run(ctx, args, getenv, nil, &out, &errb)
		return code, out.String() + errb.String()
	}
	if code, out := cmd("seed"); code != 0 {
		t.Fatalf("seed: %d %s", code, out)
	}
	if code, out := cmd("seed", "-synthetic", "2"); code != 0 {
		t.Fatalf("seed -synthetic: %d %s", code, out)
	}
	pool, err := pgxpool.New(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	type doc struct {
		key       string
		encrypted bool
	}
	var docs []doc
	rows, err := pool.Query(ctx, `SELECT blob_key, encrypted FROM documents ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var d doc
		if err := rows.Scan(&d.key, &d.encrypted); err != nil {
			t.Fatal(err)
		}
		docs = append(docs, d)
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	s3c := bucket.Client(t)
	if got := objectKeys(t, s3c, bucket.Name); len(got) != len(docs) || len(docs) < 5 {
		t.Fatalf("%d objects in the bucket for %d document rows", len(got), len(docs))
	}
	sealed := 0
	for _, d := range docs {
		if !d.encrypted {
			continue
		}
		obj, err := s3c.GetObject(ctx, bucket.Name, d.key, minio.GetObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(obj)
		obj.Close()
		if err != nil || bytes.HasPrefix(b, []byte("%PDF")) || bytes.HasPrefix(b, []byte("\xff\xd8")) || bytes.HasPrefix(b, []byte("\x89PNG")) {
			t.Fatalf("sensitive %s is stored in the clear (%v)", d.key, err)
		}
		sealed++
	}
	if sealed == 0 {
		t.Fatal("the synthetic applications have no sensitive document to check")
	}

	if code, out := cmd("blobs", "verify"); code != 0 || !strings.Contains(out, "文件校验通过："+strconv.Itoa(len(docs))+" 个文件") {
		t.Fatalf("blobs verify: %d %s", code, out)
	}

	// Behind the app's back: one sealed document overwritten, one ordinary
	// one deleted.
	var changed, lost string
	for _, d := range docs {
		if d.encrypted && changed == "" {
			changed = d.key
		} else if !d.encrypted && lost == "" {
			lost = d.key
		}
	}
	junk := []byte("%PDF-1.4 not the stored bytes")
	if _, err := s3c.PutObject(ctx, bucket.Name, changed, bytes.NewReader(junk), int64(len(junk)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := s3c.RemoveObject(ctx, bucket.Name, lost, minio.RemoveObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out := cmd("blobs", "verify")
	if code != 1 || !strings.Contains(out, "文件校验失败："+strconv.Itoa(len(docs))+" 个文件中 2 个") {
		t.Fatalf("blobs verify after tampering: %d %s", code, out)
	}

	// What another server may be writing right now: a fresh blob without
	// its row yet and an unfinished multipart upload whose part just
	// arrived. The sweep keeps both, and every document.
	fresh := blob.NewKey("docs", time.Now())
	if _, err := s3c.PutObject(ctx, bucket.Name, fresh, bytes.NewReader(junk), int64(len(junk)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	core := minio.Core{Client: s3c}
	upKey := blob.NewKey("docs", time.Now())
	upID, err := core.NewMultipartUpload(ctx, bucket.Name, upKey, minio.PutObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := core.PutObjectPart(ctx, bucket.Name, upKey, upID, 1, bytes.NewReader(junk), int64(len(junk)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	before := len(objectKeys(t, s3c, bucket.Name))
	if code, out := cmd("blobs", "sweep"); code != 0 || !strings.Contains(out, "删除 0 个中断上传留下的临时文件") || !strings.Contains(out, "0 个无材料记录引用的文件") {
		t.Fatalf("blobs sweep: %d %s", code, out)
	}
	if after := len(objectKeys(t, s3c, bucket.Name)); after != before {
		t.Fatalf("the sweep removed %d objects, want none of them", before-after)
	}
	if _, err := core.ListObjectParts(ctx, bucket.Name, upKey, upID, 0, 10); err != nil {
		t.Fatalf("the upload in progress was aborted: %v", err)
	}
}

// TestServeOnS3 starts serve on the bucket, and refuses to start on a
// bucket that does not exist or with a key the S3 server does not know,
// saying what to check.
func TestServeOnS3(t *testing.T) {
	bucket := s3test.NewBucket(t)
	url := pgtest.NewURL(t)
	ctx, cancel := context.WithCancel(context.Background())
	done, _ := serveReady(t, ctx, nil, s3Env(url, t.TempDir(), bucket))
	cancel()
	if code := <-done; code != 0 {
		t.Fatalf("serve on S3 exited %d", code)
	}

	for name, change := range map[string]func(kv map[string]string){
		"MissingBucket": func(kv map[string]string) {
			kv["BLOB_STORE"] = strings.Replace(kv["BLOB_STORE"], bucket.Name, "no-such-bucket", 1)
		},
		"UnknownKey": func(kv map[string]string) { kv["BLOB_S3_SECRET_KEY"] = "not-the-secret" },
	} {
		t.Run(name, func(t *testing.T) {
			kv := s3Env(url, t.TempDir(), bucket)
			change(kv)
			kv["LISTEN_ADDR"] = "127.0.0.1:0"
			var out, errb bytes.Buffer
			code := run(context.Background(), []string{"serve"}, env(kv), nil, &out, &errb)
			if code == 0 || !strings.Contains(errb.String(), "存储桶") {
				t.Fatalf("serve with a bad S3 setting: exit %d %s", code, errb.String())
			}
		})
	}
}
