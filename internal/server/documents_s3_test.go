package server

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/minio/minio-go/v7"

	"ite/internal/applications"
	"ite/internal/blob"
	"ite/internal/postgres"
	"ite/internal/s3local/s3test"
)

// openS3 opens the bucket as an app server does, from BLOB_STORE and the
// BLOB_S3_* variables: each call is a separate client, as on two machines.
func openS3(t *testing.T, b s3test.Bucket) blob.Store {
	t.Helper()
	env := b.Env()
	s, err := blob.OpenStore(env["BLOB_STORE"], "", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(*blob.S3).CheckBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// secondServer is another app server on e's database (its own connection
// pool) and the given store: the same configuration, another process.
func (e *env) secondServer(store blob.Store) *env {
	e.t.Helper()
	pool, err := pgxpool.New(context.Background(), e.db.Pool.Config().ConnString())
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(pool.Close)
	db := postgres.New(pool)
	db.Now = e.clock.Now
	srv := New(Config{DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Key: []byte("0123456789abcdef0123456789abcdef"), Now: e.clock.Now, PasswordParams: fastParams, Version: "test",
		Blobs: store, MasterKey: []byte("master-key-master-key-master-key")})
	other := &env{t: e.t, db: db, srv: srv, clock: e.clock, users: e.users, secrets: e.secrets}
	other.http = httptest.NewServer(srv)
	e.t.Cleanup(other.http.Close)
	return other
}

// sameSession is a client of other that carries c's cookies: the browser
// whose requests a load balancer sends to the other server.
func (c *client) sameSession(other *env) *client {
	c.e.t.Helper()
	from, _ := url.Parse(c.e.http.URL)
	to, _ := url.Parse(other.http.URL)
	jar, _ := cookiejar.New(nil)
	jar.SetCookies(to, c.hc.Jar.Cookies(from))
	oc := &client{e: other, hc: &http.Client{Jar: jar, CheckRedirect: c.hc.CheckRedirect}}
	oc.get("/") // the session's CSRF token, from the other server
	return oc
}

// TestTwoServersShareS3AndTheDatabase runs two app servers, each with its
// own database pool, S3 client and page cache, on one database and one
// bucket of a real S3 server (SeaweedFS): a document uploaded through one
// is listed and downloaded through the other, an ID copy is stored sealed,
// each server's cached pages give way to the other's commits, and the
// orphan sweep of either keeps what the other stored.
func TestTwoServersShareS3AndTheDatabase(t *testing.T) {
	bucket := s3test.NewBucket(t)
	a := newEnv(t)
	a.srv.Blobs = openS3(t, bucket)
	b := a.secondServer(openS3(t, bucket))
	p := a.openProgramme()
	entA := a.loggedIn("enterprise")
	id := entA.createApplication(p.ID, "3000000.00")
	path := "/applications/" + strconv.FormatInt(id, 10)
	staffB := b.loggedIn("staff")
	a.withPageCache()
	b.withPageCache()
	entB := entA.sameSession(b)

	// B renders the application page and keeps it.
	if r := entB.get(path); r.StatusCode != http.StatusOK || strings.Contains(r.body, "法定代表人身份证.pdf") {
		t.Fatalf("GET %s on the second server: %d", path, r.StatusCode)
	}
	if b.srv.pages.Len() == 0 {
		t.Fatal("the second server cached nothing")
	}

	// An ID copy uploaded through A.
	idCopy := append(bytes.Clone(pdf), []byte("% 法定代表人 11010519491231002X\n")...)
	fields := a.validFields(applications.MaterialLegalRepID, "")
	if r := entA.upload(id, applications.MaterialLegalRepID, fields, "法定代表人身份证.pdf", bytes.NewReader(idCopy)); r.StatusCode != http.StatusOK {
		t.Fatalf("upload through the first server: %d %s", r.StatusCode, r.body)
	}
	var docID int64
	var key string
	var encrypted bool
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT id, blob_key, encrypted FROM documents WHERE application_id = $1`, id).
		Scan(&docID, &key, &encrypted); err != nil {
		t.Fatal(err)
	}
	if !encrypted {
		t.Fatal("the ID copy's row says it is stored in the clear")
	}
	s3c := bucket.Client(t)
	obj, err := s3c.GetObject(context.Background(), bucket.Name, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stored, err := io.ReadAll(obj)
	obj.Close()
	if err != nil || len(stored) <= len(idCopy) || bytes.Contains(stored, []byte("%PDF")) || bytes.Contains(stored, []byte("11010519491231002X")) {
		t.Fatalf("the object in the bucket (%d bytes, %v) is not the sealed ID copy", len(stored), err)
	}

	// B's cached page gave way to A's commit; B lists and serves the file.
	b.waitFor("the second server to show the upload", func() bool {
		return strings.Contains(entB.get(path).body, "法定代表人身份证.pdf")
	})
	docPath := "/documents/" + strconv.FormatInt(docID, 10)
	for _, c := range []*client{entB, staffB} {
		if r := c.get(docPath); r.StatusCode != http.StatusOK || r.body != string(idCopy) {
			t.Fatalf("download through the second server: %d, %d bytes, want the %d uploaded", r.StatusCode, len(r.body), len(idCopy))
		}
	}

	// And the other way: an upload through B is served by A, and A's
	// cached page shows it.
	if r := entA.get(path); r.StatusCode != http.StatusOK {
		t.Fatal(r.StatusCode)
	}
	form := append(bytes.Clone(pdf), []byte("% 申请书\n")...)
	if r := entB.upload(id, applications.MaterialApplicationForm, nil, "申请书.pdf", bytes.NewReader(form)); r.StatusCode != http.StatusOK {
		t.Fatalf("upload through the second server: %d %s", r.StatusCode, r.body)
	}
	var formID int64
	if err := a.db.Pool.QueryRow(context.Background(), `SELECT id FROM documents WHERE application_id = $1 AND item = 'application_form'`, id).
		Scan(&formID); err != nil {
		t.Fatal(err)
	}
	a.waitFor("the first server to show the upload", func() bool { return strings.Contains(entA.get(path).body, "申请书.pdf") })
	if r := entA.get("/documents/" + strconv.FormatInt(formID, 10)); r.StatusCode != http.StatusOK || r.body != string(form) {
		t.Fatalf("download through the first server: %d, %d bytes", r.StatusCode, len(r.body))
	}

	// A blob no row references (what a crash between upload and commit
	// leaves), seen by each server's hourly sweep once it is past the
	// grace period: the sweep of either removes it and keeps every
	// document, whichever server stored it.
	orphan := blob.NewKey("docs", a.clock.Now())
	if _, err := s3c.PutObject(context.Background(), bucket.Name, orphan, bytes.NewReader(pdf), int64(len(pdf)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	a.clock.Advance(time.Since(a.clock.Now()) + blobGrace + time.Hour) // the objects' times are the S3 server's
	n, err := b.srv.sweepBlobs(context.Background())
	if err != nil || n != 1 {
		t.Fatalf("the second server's sweep deleted %d (%v), want the one orphan", n, err)
	}
	if n, err := a.srv.sweepBlobs(context.Background()); err != nil || n != 0 {
		t.Fatalf("the first server's sweep after it deleted %d (%v), want 0", n, err)
	}
	var left []string
	for o := range s3c.ListObjects(context.Background(), bucket.Name, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			t.Fatal(o.Err)
		}
		left = append(left, o.Key)
	}
	if len(left) != 2 || !strings.Contains(strings.Join(left, " "), key) {
		t.Fatalf("after the sweeps the bucket holds %q, want the two documents", left)
	}
}
