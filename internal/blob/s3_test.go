package blob

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"ite/internal/s3local/s3test"
)

// The SeaweedFS backend needs the test binary's S3 server stopped at the end.
func TestMain(m *testing.M) { os.Exit(s3test.After(m.Run())) }

// newRealS3 opens a fresh bucket on the test binary's SeaweedFS the way
// the server does: from a BLOB_STORE spec and the BLOB_S3_* variables.
func newRealS3(t testing.TB) *S3 {
	t.Helper()
	b := s3test.NewBucket(t)
	env := b.Env()
	s, err := OpenStore(env["BLOB_STORE"], "", func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if err := s.(*S3).CheckBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s.(*S3)
}

// raw reads an object straight from the S3 server, past the app.
func raw(t testing.TB, s *S3, key string) []byte {
	t.Helper()
	obj, err := s.client.GetObject(context.Background(), s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	b, err := io.ReadAll(obj)
	if err != nil {
		t.Fatalf("raw read of %s: %v", key, err)
	}
	return b
}

// plantUnfinishedUpload leaves what a server killed in the middle of Put
// leaves on S3: a multipart upload with a part stored and never completed.
func plantUnfinishedUpload(t testing.TB, s *S3, key string) string {
	t.Helper()
	ctx := context.Background()
	core := minio.Core{Client: s.client}
	id, err := core.NewMultipartUpload(ctx, s.bucket, key, minio.PutObjectOptions{ContentType: "application/octet-stream"})
	if err != nil {
		t.Fatal(err)
	}
	part := bytes.Repeat([]byte("partial "), 1<<10)
	if _, err := core.PutObjectPart(ctx, s.bucket, key, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		t.Fatal(err)
	}
	return id
}

func unfinishedUploads(t testing.TB, s *S3) []string {
	t.Helper()
	var ks []string
	for up := range s.client.ListIncompleteUploads(context.Background(), s.bucket, "", true) {
		if up.Err != nil {
			t.Fatal(up.Err)
		}
		ks = append(ks, up.Key)
	}
	return ks
}

func TestRealS3(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("RequestsMustBeSigned", func(t *testing.T) {
		s := newRealS3(t)
		put(t, s, "docs/2026/11/signed", []byte("%PDF-1.7 signed"))

		wrong, err := NewS3(S3Config{Endpoint: s.client.EndpointURL().Host, Bucket: s.bucket, AccessKey: "ITEnobody", SecretKey: "not-the-secret",
			Region: "us-east-1", PathStyle: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := wrong.CheckBucket(ctx); err == nil {
			t.Error("CheckBucket with an unknown key succeeded")
		}
		if err := wrong.Put(ctx, "docs/2026/11/forged", bytes.NewReader([]byte("forged"))); err == nil {
			t.Error("Put with an unknown key succeeded")
		}
		if _, err := wrong.Open(ctx, "docs/2026/11/signed"); err == nil {
			t.Error("Open with an unknown key succeeded")
		}
		resp, err := http.Get("http://" + s.client.EndpointURL().Host + "/" + s.bucket + "/docs/2026/11/signed")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Errorf("unsigned GET answered %d, want 403", resp.StatusCode)
		}
		if ks := keys(t, s, ""); !slices.Equal(ks, []string{"docs/2026/11/signed"}) {
			t.Errorf("bucket holds %q, want only the signed upload", ks)
		}
	})

	t.Run("SensitiveItemsAreSealedOnTheServer", func(t *testing.T) {
		s := newRealS3(t)
		master := testMasterKey(t)
		// A multi-part object: the ciphertext spans several S3 parts.
		doc := pdfOf(2*DefaultS3PartSize + 4321)
		marker := []byte("身份证号 150102199003074518")
		doc = append(doc[:len(doc)-20:len(doc)-20], append(marker, doc[len(doc)-20:]...)...)
		for _, su := range testSuites {
			key := NewKey("docs", time.Now())
			m, err := Ingest(ctx, s, key, bytes.NewReader(doc), IngestOptions{Encrypt: true, MasterKey: master, Suite: su})
			if err != nil {
				t.Fatalf("%s: %v", su, err)
			}
			stored := raw(t, s, key)
			if len(stored) <= len(doc) || bytes.Contains(stored, []byte("%PDF")) || bytes.Contains(stored, marker) {
				t.Fatalf("%s: the object on the server (%d bytes) shows the plaintext (%d bytes)", su, len(stored), len(doc))
			}
			got, err := readAllOf(t, s, key, m, master)
			if err != nil || !bytes.Equal(got, doc) || m.SHA256 != sha(doc) {
				t.Fatalf("%s: decrypted %d bytes (%v), want the %d uploaded", su, len(got), err, len(doc))
			}
			// Not sensitive: stored as uploaded.
			plainKey := NewKey("docs", time.Now())
			if _, err := Ingest(ctx, s, plainKey, bytes.NewReader(doc), IngestOptions{MasterKey: master, Suite: su}); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(raw(t, s, plainKey), doc) {
				t.Fatalf("%s: an ordinary document is not stored as uploaded", su)
			}
		}
	})

	t.Run("SweepDeletesOrphansAndAbortsDeadUploads", func(t *testing.T) {
		s := newRealS3(t)
		for _, k := range []string{"docs/2026/11/live", "docs/2026/11/orphan", "tmpl/other"} {
			put(t, s, k, []byte(k))
		}
		plantUnfinishedUpload(t, s, "docs/2026/11/killed")
		refs, _ := refsOf("docs/2026/11/live")

		// Everything is younger than the grace period: nothing goes, the
		// unfinished upload may be one in progress.
		n, err := Sweep(ctx, s, "docs/", time.Now().Add(-time.Hour), refs)
		if err != nil || n != 0 {
			t.Fatalf("Sweep with an hour's grace = %d, %v; want 0", n, err)
		}
		if n, err := RemoveInterruptedUploads(ctx, s, time.Now().Add(-TempIdle)); err != nil || n != 0 {
			t.Fatalf("RemoveInterruptedUploads = %d, %v; want 0 for an upload whose part just arrived", n, err)
		}
		if ups := unfinishedUploads(t, s); !slices.Equal(ups, []string{"docs/2026/11/killed"}) {
			t.Fatalf("unfinished uploads %q, want the planted one kept", ups)
		}

		// Once all of it is older than the grace period, the orphan and
		// the dead upload go; the referenced blob and other prefixes stay.
		n, err = Sweep(ctx, s, "docs/", time.Now().Add(time.Minute), refs)
		if err != nil || n != 2 {
			t.Fatalf("Sweep = %d, %v; want 2 (the orphan and the unfinished upload)", n, err)
		}
		if got, want := keys(t, s, ""), []string{"docs/2026/11/live", "tmpl/other"}; !slices.Equal(got, want) {
			t.Fatalf("left %q, want %q", got, want)
		}
		if ups := unfinishedUploads(t, s); len(ups) != 0 {
			t.Fatalf("unfinished uploads %q survived the sweep", ups)
		}
		if got := read(t, s, "docs/2026/11/live"); string(got) != "docs/2026/11/live" {
			t.Fatalf("the referenced blob reads %q", got)
		}
	})

	t.Run("RemoveInterruptedUploadsAbortsOnlyIdleOnes", func(t *testing.T) {
		s := newRealS3(t)
		plantUnfinishedUpload(t, s, "docs/2026/11/dead")
		put(t, s, "docs/2026/11/done", []byte("complete"))
		if n, err := RemoveInterruptedUploads(ctx, s, time.Now().Add(time.Minute)); err != nil || n != 1 {
			t.Fatalf("RemoveInterruptedUploads = %d, %v; want 1", n, err)
		}
		if ups := unfinishedUploads(t, s); len(ups) != 0 {
			t.Fatalf("unfinished uploads %q remain", ups)
		}
		if got := keys(t, s, ""); !slices.Equal(got, []string{"docs/2026/11/done"}) {
			t.Fatalf("objects %q, want the completed one untouched", got)
		}
	})
}
