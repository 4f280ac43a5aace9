package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// backend names a Store constructor; every behavioural test runs against
// each, so the local filesystem and S3 cannot drift apart.
type backend struct {
	name string
	new  func(t testing.TB) Store
}

var backends = []backend{
	{"Local", func(t testing.TB) Store { return newLocal(t) }},
	{"S3", func(t testing.TB) Store { return newFakeS3(t) }},
	{"SeaweedFS", func(t testing.TB) Store { return newRealS3(t) }},
}

func newLocal(t testing.TB) *Local {
	t.Helper()
	l, err := NewLocal(filepath.Join(t.TempDir(), "blobs"))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

const fakeBucket = "ite-test"

// newFakeS3 serves an in-memory S3 (gofakes3) over HTTP on loopback and
// returns a real minio-go client for it, so the test exercises the same
// requests (multipart upload, listing v2, errors) as production.
func newFakeS3(t testing.TB) *S3 {
	t.Helper()
	mem := s3mem.New()
	if err := mem.CreateBucket(fakeBucket); err != nil {
		t.Fatal(err)
	}
	// TLS, as in production: over plain HTTP minio-go signs each chunk of
	// the body (aws-chunked), which gofakes3 does not decode for parts.
	ts := httptest.NewTLSServer(gofakes3.New(mem).Server())
	t.Cleanup(ts.Close)
	u, err := url.Parse(ts.URL)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseS3("s3://"+fakeBucket+"?endpoint="+u.Host+"&path_style=true&region=us-east-1", func(k string) string {
		return map[string]string{"BLOB_S3_ACCESS_KEY": "AKIDTEST", "BLOB_S3_SECRET_KEY": "secret-for-tests"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Transport = ts.Client().Transport
	s, err := NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func put(t testing.TB, s Store, key string, data []byte) {
	t.Helper()
	if err := s.Put(context.Background(), key, bytes.NewReader(data)); err != nil {
		t.Fatalf("Put(%q): %v", key, err)
	}
}

func read(t testing.TB, s Store, key string) []byte {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err != nil {
		t.Fatalf("Open(%q): %v", key, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatalf("read %q: %v", key, err)
	}
	return b
}

func keys(t testing.TB, s Store, prefix string) []string {
	t.Helper()
	var ks []string
	err := s.List(context.Background(), prefix, func(k string, mod time.Time) error {
		// Sweep's tests age some blobs by two days.
		if mod.IsZero() || time.Since(mod) > 72*time.Hour || time.Until(mod) > time.Minute {
			t.Errorf("List: %s modTime %v, want a real recent time", k, mod)
		}
		ks = append(ks, k)
		return nil
	})
	if err != nil {
		t.Fatalf("List(%q): %v", prefix, err)
	}
	return ks
}

func wantNotFound(t testing.TB, s Store, key string) {
	t.Helper()
	rc, err := s.Open(context.Background(), key)
	if err == nil {
		rc.Close()
		t.Fatalf("Open(%q) succeeded, want ErrNotFound", key)
	}
	if !errors.Is(err, ErrNotFound) {
		t.Fatalf("Open(%q) = %v, want ErrNotFound", key, err)
	}
}

// errReader yields some bytes, then fails, like a client that disconnects
// mid-upload.
type errReader struct {
	data []byte
	err  error
}

func (e *errReader) Read(p []byte) (int, error) {
	if len(e.data) == 0 {
		return 0, e.err
	}
	n := copy(p, e.data)
	e.data = e.data[n:]
	return n, nil
}

var badKeys = []string{
	"", "/docs/a", "docs/a/", "docs//a", "../etc/passwd", "docs/../../x", "docs/./a", "docs/..",
	"docs/.hidden", ".put-123", `docs\a`, "docs/a b", "docs/身份证.pdf", "docs/a\x00b", "docs/a?b", "docs/a#b",
	"docs/a%2F..", strings.Repeat("a", MaxKeyLen+1),
}

func TestStore(t *testing.T) {
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()

			t.Run("PutThenOpenReturnsTheBytes", func(t *testing.T) {
				s := b.new(t)
				data := bytes.Repeat([]byte("申报材料 "), 10000)
				put(t, s, "docs/2026/11/abc", data)
				if got := read(t, s, "docs/2026/11/abc"); !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes, want %d", len(got), len(data))
				}
			})

			t.Run("EmptyBlobRoundTrips", func(t *testing.T) {
				s := b.new(t)
				put(t, s, "docs/empty", nil)
				if got := read(t, s, "docs/empty"); len(got) != 0 {
					t.Fatalf("read back %d bytes, want 0", len(got))
				}
			})

			t.Run("MultipartSizedBlobRoundTrips", func(t *testing.T) {
				// Above the S3 part size, so the upload takes several parts.
				s := b.new(t)
				data := make([]byte, 2*DefaultS3PartSize+12345)
				for i := range data {
					data[i] = byte(i * 7)
				}
				put(t, s, "docs/big", data)
				if got := read(t, s, "docs/big"); !bytes.Equal(got, data) {
					t.Fatalf("read back %d bytes differ from the %d written", len(got), len(data))
				}
			})

			t.Run("OverwriteReplaces", func(t *testing.T) {
				s := b.new(t)
				put(t, s, "docs/k", []byte("first version, longer"))
				put(t, s, "docs/k", []byte("second"))
				if got := read(t, s, "docs/k"); string(got) != "second" {
					t.Fatalf("read back %q, want %q", got, "second")
				}
				if ks := keys(t, s, ""); !slices.Equal(ks, []string{"docs/k"}) {
					t.Fatalf("List = %q, want just docs/k", ks)
				}
			})

			t.Run("MissingKeyIsNotFound", func(t *testing.T) {
				s := b.new(t)
				wantNotFound(t, s, "docs/nothing")
				put(t, s, "docs/2026/11/x", []byte("x"))
				wantNotFound(t, s, "docs/2026")        // a "directory" is not a blob
				wantNotFound(t, s, "docs/2026/11/x/y") // below a blob
			})

			t.Run("DeleteRemoves", func(t *testing.T) {
				s := b.new(t)
				put(t, s, "docs/gone", []byte("x"))
				if err := s.Delete(ctx, "docs/gone"); err != nil {
					t.Fatal(err)
				}
				wantNotFound(t, s, "docs/gone")
			})

			t.Run("DeleteMissingSucceeds", func(t *testing.T) {
				s := b.new(t)
				if err := s.Delete(ctx, "docs/never"); err != nil {
					t.Fatalf("Delete of a missing key = %v, want nil", err)
				}
			})

			t.Run("ListFiltersByPrefixInOrder", func(t *testing.T) {
				s := b.new(t)
				for _, k := range []string{"docs/2026/11/b", "docs/2026/11/a", "docs/2026/10/z", "docs/2025/12/q", "tmpl/x", "docs/2026/1x"} {
					put(t, s, k, []byte(k))
				}
				for _, c := range []struct {
					prefix string
					want   []string
				}{
					{"", []string{"docs/2025/12/q", "docs/2026/10/z", "docs/2026/11/a", "docs/2026/11/b", "docs/2026/1x", "tmpl/x"}},
					{"docs/2026/", []string{"docs/2026/10/z", "docs/2026/11/a", "docs/2026/11/b", "docs/2026/1x"}},
					{"docs/2026/1", []string{"docs/2026/10/z", "docs/2026/11/a", "docs/2026/11/b", "docs/2026/1x"}},
					{"docs/2026/11", []string{"docs/2026/11/a", "docs/2026/11/b"}},
					{"docs/2026/11/a", []string{"docs/2026/11/a"}},
					{"docs/2024/", nil},
					{"nothing", nil},
				} {
					if got := keys(t, s, c.prefix); !slices.Equal(got, c.want) {
						t.Errorf("List(%q) = %q, want %q", c.prefix, got, c.want)
					}
				}
			})

			t.Run("ListStopsAtCallbackError", func(t *testing.T) {
				s := b.new(t)
				for _, k := range []string{"docs/a", "docs/b", "docs/c"} {
					put(t, s, k, []byte(k))
				}
				stop := errors.New("stop")
				var seen []string
				err := s.List(ctx, "docs/", func(k string, _ time.Time) error {
					seen = append(seen, k)
					return stop
				})
				if !errors.Is(err, stop) || len(seen) != 1 {
					t.Fatalf("List = %v after %q, want the callback's error after one key", err, seen)
				}
			})

			t.Run("BadKeyRefused", func(t *testing.T) {
				s := b.new(t)
				for _, k := range badKeys {
					if err := s.Put(ctx, k, strings.NewReader("x")); !errors.Is(err, ErrBadKey) {
						t.Errorf("Put(%q) = %v, want ErrBadKey", k, err)
					}
					if _, err := s.Open(ctx, k); !errors.Is(err, ErrBadKey) {
						t.Errorf("Open(%q) = %v, want ErrBadKey", k, err)
					}
					if err := s.Delete(ctx, k); !errors.Is(err, ErrBadKey) {
						t.Errorf("Delete(%q) = %v, want ErrBadKey", k, err)
					}
				}
				for _, p := range []string{"/", "../", "docs//", "docs/../x", ".put-"} {
					if err := s.List(ctx, p, func(string, time.Time) error { return nil }); !errors.Is(err, ErrBadKey) {
						t.Errorf("List(%q) = %v, want ErrBadKey", p, err)
					}
				}
				if ks := keys(t, s, ""); len(ks) != 0 {
					t.Fatalf("store holds %q after refused writes", ks)
				}
			})

			t.Run("FailedPutLeavesNothing", func(t *testing.T) {
				s := b.new(t)
				broken := errors.New("client went away")
				err := s.Put(ctx, "docs/partial", &errReader{data: bytes.Repeat([]byte("x"), 100<<10), err: broken})
				if !errors.Is(err, broken) {
					t.Fatalf("Put = %v, want the reader's error", err)
				}
				wantNotFound(t, s, "docs/partial")
				if ks := keys(t, s, ""); len(ks) != 0 {
					t.Fatalf("store holds %q after a failed Put", ks)
				}
			})

			t.Run("FailedOverwriteKeepsOldBlob", func(t *testing.T) {
				s := b.new(t)
				put(t, s, "docs/k", []byte("old"))
				_ = s.Put(ctx, "docs/k", &errReader{data: []byte("new, partial"), err: errors.New("broken")})
				if got := read(t, s, "docs/k"); string(got) != "old" {
					t.Fatalf("after a failed overwrite read %q, want %q", got, "old")
				}
			})

			t.Run("CancelledPutLeavesNothing", func(t *testing.T) {
				s := b.new(t)
				cctx, cancel := context.WithCancel(ctx)
				r := &cancelAfter{n: 64 << 10, cancel: cancel}
				if err := s.Put(cctx, "docs/cancelled", r); err == nil {
					t.Fatal("Put with a cancelled context succeeded")
				}
				wantNotFound(t, s, "docs/cancelled")
			})
		})
	}
}

// cancelAfter cancels its context after n bytes and keeps producing data
// up to a cap, so only honouring the cancellation stops the Put early.
type cancelAfter struct {
	n, sent int
	cancel  func()
}

func (c *cancelAfter) Read(p []byte) (int, error) {
	if c.sent >= 32<<20 {
		return 0, io.EOF
	}
	if c.sent >= c.n {
		c.cancel()
	}
	n := min(len(p), 32<<20-c.sent)
	clear(p[:n])
	c.sent += n
	return n, nil
}

func TestLocal(t *testing.T) {
	t.Parallel()
	ctx := context.Background()

	t.Run("FilesArePrivate", func(t *testing.T) {
		l := newLocal(t)
		put(t, l, "docs/2026/11/secret", []byte("身份证"))
		err := filepath.WalkDir(l.Dir(), func(p string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			info, err := d.Info()
			if err != nil {
				return err
			}
			want := fs.FileMode(0o600)
			if d.IsDir() {
				want = 0o700
			}
			if got := info.Mode().Perm(); got&^want != 0 {
				t.Errorf("%s has mode %v, want at most %v", p, got, want)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	})

	t.Run("NoTemporaryFilesLeft", func(t *testing.T) {
		l := newLocal(t)
		put(t, l, "docs/a", []byte("ok"))
		_ = l.Put(ctx, "docs/b", &errReader{data: []byte("partial"), err: errors.New("broken")})
		var names []string
		filepath.WalkDir(l.Dir(), func(p string, d fs.DirEntry, err error) error {
			if !d.IsDir() {
				names = append(names, d.Name())
			}
			return err
		})
		if !slices.Equal(names, []string{"a"}) {
			t.Fatalf("files on disk = %q, want just a", names)
		}
	})

	t.Run("SymlinkOutOfRootRefused", func(t *testing.T) {
		// Keys cannot name a symlink, but an operator (or an attacker with
		// shell access) might plant one; os.Root keeps us inside anyway.
		l := newLocal(t)
		outside := t.TempDir()
		if err := os.WriteFile(filepath.Join(outside, "x"), []byte("outside"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(outside, filepath.Join(l.Dir(), "docs")); err != nil {
			t.Fatal(err)
		}
		if _, err := l.Open(ctx, "docs/x"); err == nil {
			t.Fatal("Open followed a symlink out of the root")
		}
		if err := l.Put(ctx, "docs/y", strings.NewReader("y")); err == nil {
			t.Fatal("Put followed a symlink out of the root")
		}
		if _, err := os.Stat(filepath.Join(outside, "y")); err == nil {
			t.Fatal("Put wrote outside the root")
		}
	})
}

func TestOpenStore(t *testing.T) {
	t.Parallel()
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	creds := env(map[string]string{"BLOB_S3_ACCESS_KEY": "a", "BLOB_S3_SECRET_KEY": "b"})

	t.Run("DefaultIsLocalUnderDataDir", func(t *testing.T) {
		dir := t.TempDir()
		for _, spec := range []string{"", "local", " local "} {
			s, err := OpenStore(spec, dir, env(nil))
			if err != nil {
				t.Fatal(err)
			}
			l, ok := s.(*Local)
			if !ok || l.Dir() != filepath.Join(dir, "blobs") {
				t.Fatalf("OpenStore(%q) = %#v, want Local at DATA_DIR/blobs", spec, s)
			}
		}
	})

	t.Run("LocalWithDirectory", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "elsewhere")
		s, err := OpenStore("local:"+dir, "/unused", env(nil))
		if err != nil {
			t.Fatal(err)
		}
		if l := s.(*Local); l.Dir() != dir {
			t.Fatalf("dir = %s, want %s", l.Dir(), dir)
		}
	})

	t.Run("S3Parsed", func(t *testing.T) {
		cfg, err := parseS3("s3://docs?endpoint=minio.internal:9000&region=cn-north-1&tls=false&path_style=true&part_size_mib=8",
			env(map[string]string{"BLOB_S3_ACCESS_KEY": "ak", "BLOB_S3_SECRET_KEY": "sk", "BLOB_S3_SESSION_TOKEN": "tok"}))
		if err != nil {
			t.Fatal(err)
		}
		want := S3Config{Endpoint: "minio.internal:9000", Bucket: "docs", AccessKey: "ak", SecretKey: "sk", SessionToken: "tok",
			Region: "cn-north-1", UseTLS: false, PathStyle: true, PartSize: 8 << 20}
		if cfg != want {
			t.Fatalf("parsed %+v\nwant   %+v", cfg, want)
		}
		cfg, err = parseS3("s3://docs?endpoint=oss-cn-hangzhou.aliyuncs.com", creds)
		if err != nil || !cfg.UseTLS || cfg.PathStyle || cfg.PartSize != 0 {
			t.Fatalf("defaults: %+v, %v; want TLS on, path style off, default part size", cfg, err)
		}
	})

	t.Run("BadSpecsRefused", func(t *testing.T) {
		for _, spec := range []string{
			"s3://docs",                             // no endpoint
			"s3://?endpoint=h:9000",                 // no bucket
			"s3://docs/prefix?endpoint=h:9000",      // paths not supported
			"s3://ak:sk@docs?endpoint=h:9000",       // credentials in the spec
			"s3://docs?endpoint=https://h:9000",     // scheme in endpoint
			"s3://docs?endpoint=h:9000&tls=maybe",   // not a bool
			"s3://docs?endpoint=h:9000&pathstyle=1", // typo
			"s3://docs?endpoint=h:9000&part_size_mib=1",
			"s3://docs?endpoint=h:9000&region=a&region=b",
			"gcs://docs", "local:", "/var/blobs",
		} {
			if _, err := OpenStore(spec, t.TempDir(), creds); err == nil {
				t.Errorf("OpenStore(%q) succeeded, want an error", spec)
			}
		}
		if _, err := OpenStore("s3://docs?endpoint=h:9000", "", env(nil)); err == nil {
			t.Error("OpenStore without BLOB_S3_* credentials succeeded")
		}
	})

	t.Run("S3CheckBucket", func(t *testing.T) {
		for name, s := range map[string]*S3{"fake": newFakeS3(t), "SeaweedFS": newRealS3(t)} {
			if err := s.CheckBucket(context.Background()); err != nil {
				t.Fatalf("%s: CheckBucket on an existing bucket: %v", name, err)
			}
			missing := *s
			missing.bucket = "no-such-bucket"
			if err := missing.CheckBucket(context.Background()); err == nil {
				t.Fatalf("%s: CheckBucket on a missing bucket succeeded", name)
			}
		}
	})
}

func TestValidKey(t *testing.T) {
	for _, k := range badKeys {
		if ValidKey(k) {
			t.Errorf("ValidKey(%q) = true", k)
		}
	}
	for _, k := range []string{"docs/2026/11/abc", "a", "a.b-c_D9", "docs/x.pdf.v2", strings.Repeat("a", MaxKeyLen)} {
		if !ValidKey(k) {
			t.Errorf("ValidKey(%q) = false", k)
		}
	}
	k := NewKey("docs", time.Date(2026, 11, 3, 0, 0, 0, 0, time.UTC))
	if !ValidKey(k) || !strings.HasPrefix(k, "docs/2026/11/") || len(k) != len("docs/2026/11/")+26 {
		t.Fatalf("NewKey = %q, want a valid docs/2026/11/<26 chars>", k)
	}
	if NewKey("docs", time.Now()) == NewKey("docs", time.Now()) {
		t.Fatal("NewKey repeated itself")
	}
}
