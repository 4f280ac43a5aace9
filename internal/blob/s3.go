package blob

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// S3Config configures an S3-compatible store (MinIO, Aliyun OSS, Tencent
// COS, Huawei OBS, AWS S3, ...).
type S3Config struct {
	Endpoint     string // host[:port], no scheme, e.g. "minio.internal:9000"
	Bucket       string // must exist; the app never creates buckets
	AccessKey    string
	SecretKey    string
	SessionToken string // optional, for temporary credentials
	Region       string // optional; empty lets the client ask the server
	UseTLS       bool
	// PathStyle forces path-style requests (http://host/bucket/key), which
	// MinIO and most on-premises servers need. False lets the client
	// choose: virtual-host style for the big clouds, path style elsewhere.
	PathStyle bool
	// PartSize is the multipart part size in bytes, and so the memory one
	// upload holds (S3 allows 5 MiB at the least). Zero means
	// DefaultS3PartSize.
	PartSize uint64
	// Transport overrides the HTTP transport (tests, custom CAs).
	Transport http.RoundTripper
}

// DefaultS3PartSize is S3's minimum part size. Uploads have unknown length
// (they are streamed from the request), so each one buffers one part in
// memory; the smallest legal part keeps that at 5 MiB per upload while
// still allowing objects up to 50 GiB (10,000 parts).
const DefaultS3PartSize = 5 << 20

// S3 stores blobs as objects in one bucket, the blob key as object name.
//
// Put streams with a multipart upload of unknown length, one part buffered
// at a time; S3 makes the object visible only when the upload completes,
// and minio-go aborts the upload on error, so a failed Put leaves no
// object. A process killed mid-upload leaves an incomplete multipart
// upload, which the start-up sweep and `blobs sweep` abort once idle (see
// removeStaleTemp); a lifecycle rule AbortIncompleteMultipartUpload (e.g.
// after 1 day) on the bucket is the backstop.
type S3 struct {
	client   *minio.Client
	bucket   string
	partSize uint64
}

// NewS3 returns an S3 store. It makes no request: call CheckBucket at
// startup to find bad credentials before the first upload does.
func NewS3(cfg S3Config) (*S3, error) {
	if cfg.Endpoint == "" || cfg.Bucket == "" {
		return nil, errors.New("blob: S3 存储须设置 endpoint 和 bucket")
	}
	if cfg.AccessKey == "" || cfg.SecretKey == "" {
		return nil, errors.New("blob: S3 存储须设置访问密钥（BLOB_S3_ACCESS_KEY 和 BLOB_S3_SECRET_KEY）")
	}
	part := cfg.PartSize
	if part == 0 {
		part = DefaultS3PartSize
	}
	if part < 5<<20 {
		return nil, fmt.Errorf("blob: S3 分片大小 %d 字节小于 S3 规定的最小值 5 MiB", part)
	}
	lookup := minio.BucketLookupAuto
	if cfg.PathStyle {
		lookup = minio.BucketLookupPath
	}
	c, err := minio.New(cfg.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, cfg.SessionToken),
		Secure:       cfg.UseTLS,
		Region:       cfg.Region,
		BucketLookup: lookup,
		Transport:    cfg.Transport,
	})
	if err != nil {
		return nil, fmt.Errorf("blob: S3 client: %w", err)
	}
	return &S3{client: c, bucket: cfg.Bucket, partSize: part}, nil
}

// CheckBucket verifies that the bucket exists and the credentials can
// reach it.
func (s *S3) CheckBucket(ctx context.Context) error {
	ok, err := s.client.BucketExists(ctx, s.bucket)
	if err != nil {
		return fmt.Errorf("blob: 无法访问 S3 存储桶 %s，请检查 BLOB_STORE 的 endpoint 以及 BLOB_S3_ACCESS_KEY、BLOB_S3_SECRET_KEY：%w", s.bucket, err)
	}
	if !ok {
		return fmt.Errorf("blob: S3 存储桶 %s 不存在，请先创建", s.bucket)
	}
	return nil
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader) error {
	if err := checkKey(key); err != nil {
		return err
	}
	opts := minio.PutObjectOptions{
		PartSize: s.partSize,
		// Never let the bucket serve a blob as something a browser would
		// render: downloads go through the app's authorised handler.
		ContentType: "application/octet-stream",
	}
	// An empty stream would become a multipart upload of one empty part,
	// which some servers refuse; send it as a plain empty PUT.
	var first [1]byte
	n, err := io.ReadFull(r, first[:])
	size := int64(-1)
	switch {
	case err == io.EOF:
		size = 0
	case err != nil:
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	_, err = s.client.PutObject(ctx, s.bucket, key, io.MultiReader(bytes.NewReader(first[:n]), r), size, opts)
	if err != nil {
		return fmt.Errorf("blob: put %s: %w", key, err)
	}
	return nil
}

// Open implements Store.
func (s *S3) Open(ctx context.Context, key string) (io.ReadCloser, error) {
	if err := checkKey(key); err != nil {
		return nil, err
	}
	obj, err := s.client.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.mapErr("open", key, err)
	}
	// GetObject is lazy; Stat sends the GET now (its response body is what
	// later reads consume) so a missing key is reported here, not on the
	// first Read.
	if _, err := obj.Stat(); err != nil {
		obj.Close()
		return nil, s.mapErr("open", key, err)
	}
	return obj, nil
}

// Delete implements Store. S3 itself treats deleting a missing object as
// success.
func (s *S3) Delete(ctx context.Context, key string) error {
	if err := checkKey(key); err != nil {
		return err
	}
	if err := s.client.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}); err != nil {
		if isNoSuchKey(err) {
			return nil
		}
		return fmt.Errorf("blob: delete %s: %w", key, err)
	}
	return nil
}

// List implements Store. Objects whose names ValidKey rejects were not
// written by this app (a shared bucket) and are skipped, so Sweep can never
// delete them.
func (s *S3) List(ctx context.Context, prefix string, fn func(key string, modTime time.Time) error) error {
	if err := checkPrefix(prefix); err != nil {
		return err
	}
	// Cancelling on return stops the listing goroutine when fn ends early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for obj := range s.client.ListObjectsIter(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if obj.Err != nil {
			return fmt.Errorf("blob: list %q: %w", prefix, obj.Err)
		}
		if !ValidKey(obj.Key) {
			continue
		}
		if err := fn(obj.Key, obj.LastModified); err != nil {
			return err
		}
	}
	return nil
}

// removeStaleTemp aborts the multipart uploads under prefix that have
// been idle since olderThan, and returns how many: they are what a server
// killed mid-upload leaves (minio-go aborts the upload itself on any error
// it lives to see), their parts are stored and billed but belong to no
// object, and List never shows them. An upload's last activity is its
// latest part or, before the first part, its start; a live Put sends a part
// every PartSize bytes (5 MiB), so with olderThan = now − TempIdle only a
// client slower than 5 MiB in ten minutes could be cut off, and it is told
// the upload failed. A lifecycle rule AbortIncompleteMultipartUpload on the
// bucket remains the backstop when no server runs the sweep.
func (s *S3) removeStaleTemp(ctx context.Context, prefix string, olderThan time.Time) (int, error) {
	if err := checkPrefix(prefix); err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	core := minio.Core{Client: s.client}
	n := 0
	for up := range s.client.ListIncompleteUploads(ctx, s.bucket, prefix, true) {
		if up.Err != nil {
			return n, fmt.Errorf("blob: list unfinished uploads %q: %w", prefix, up.Err)
		}
		if !ValidKey(up.Key) { // not this app's (a shared bucket)
			continue
		}
		last := up.Initiated
		parts, err := core.ListObjectParts(ctx, s.bucket, up.Key, up.UploadID, 0, 10000)
		if err != nil && !isNoSuchUpload(err) {
			return n, fmt.Errorf("blob: parts of the unfinished upload of %s: %w", up.Key, err)
		}
		for _, p := range parts.ObjectParts {
			if p.LastModified.After(last) {
				last = p.LastModified
			}
		}
		if !last.Before(olderThan) {
			continue
		}
		if err := core.AbortMultipartUpload(ctx, s.bucket, up.Key, up.UploadID); err != nil && !isNoSuchUpload(err) {
			return n, fmt.Errorf("blob: abort the unfinished upload of %s: %w", up.Key, err)
		}
		n++
	}
	return n, nil
}

// isNoSuchUpload: the upload finished or was aborted meanwhile (by the
// client, or by another server's sweep).
func isNoSuchUpload(err error) bool {
	return minio.ToErrorResponse(err).Code == "NoSuchUpload"
}

func (s *S3) mapErr(op, key string, err error) error {
	if isNoSuchKey(err) {
		return fmt.Errorf("%w: %s", ErrNotFound, key)
	}
	return fmt.Errorf("blob: %s %s: %w", op, key, err)
}

func isNoSuchKey(err error) bool {
	r := minio.ToErrorResponse(err)
	return r.Code == minio.NoSuchKey || (r.StatusCode == http.StatusNotFound && r.Code != minio.NoSuchBucket)
}
