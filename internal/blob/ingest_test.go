package blob

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"ite/internal/applications"
	"ite/internal/suite"
)

func testMasterKey(t testing.TB) []byte {
	k := make([]byte, MasterKeyLen)
	rand.Read(k)
	return k
}

func sha(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

// readAllOf opens key through OpenDecrypted and reads it to the end.
func readAllOf(t testing.TB, s Store, key string, m Meta, master []byte) ([]byte, error) {
	t.Helper()
	rc, err := OpenDecrypted(context.Background(), s, key, m, master)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(rc)
}

func wantEmpty(t testing.TB, s Store) {
	t.Helper()
	if ks := keys(t, s, ""); len(ks) != 0 {
		t.Fatalf("store holds %q, want nothing left behind", ks)
	}
}

func wantKind(t testing.TB, err error, kind applications.Kind, msgPart string) {
	t.Helper()
	if got := applications.ErrorKind(err); got != kind {
		t.Fatalf("error %v has kind %s, want %s", err, got, kind)
	}
	if msg := applications.ErrorMessage(err); !strings.Contains(msg, msgPart) {
		t.Fatalf("message %q does not contain %q", msg, msgPart)
	}
}

// suiteBackend is a backend under one CRYPTO choice.
type suiteBackend struct {
	backend
	su suite.Suite
}

// backendsBySuite is every backend under every CRYPTO choice, named like
// "Local/gm".
func backendsBySuite() []suiteBackend {
	var out []suiteBackend
	for _, b := range backends {
		for _, su := range testSuites {
			out = append(out, suiteBackend{backend{b.name + "/" + su.String(), b.new}, su})
		}
	}
	return out
}

func TestIngest(t *testing.T) {
	for _, b := range backendsBySuite() {
		t.Run(b.name, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			master := testMasterKey(t)
			su, sl := b.su, sealingOf(b.su)

			t.Run("AcceptsEachKindByContent", func(t *testing.T) {
				s := b.new(t)
				for _, c := range []struct {
					kind string
					data []byte
				}{
					{KindPDF, pdfOf(3000)}, {KindJPEG, jpegDoc}, {KindPNG, pngDoc}, {KindOFD, ofdDoc(t)},
				} {
					for _, enc := range []bool{false, true} {
						key := NewKey("docs", testNow)
						m, err := Ingest(ctx, s, key, bytes.NewReader(c.data), IngestOptions{Encrypt: enc, MasterKey: master, Suite: su})
						if err != nil {
							t.Fatalf("%s (encrypt %v): %v", c.kind, enc, err)
						}
						if m.Kind != c.kind || m.Size != int64(len(c.data)) || m.SHA256 != sha(c.data) || m.Encrypted != enc {
							t.Fatalf("%s: meta %+v", c.kind, m)
						}
						got, err := readAllOf(t, s, key, m, master)
						if err != nil || !bytes.Equal(got, c.data) {
							t.Fatalf("%s (encrypt %v): read back %d bytes, %v", c.kind, enc, len(got), err)
						}
					}
				}
			})

			t.Run("RefusesOtherTypesAndStoresNothing", func(t *testing.T) {
				s := b.new(t)
				for name, data := range map[string][]byte{
					"ELF renamed .pdf": elfDoc,
					"PE renamed .pdf":  peDoc,
					"HTML":             htmlDoc,
					"text":             []byte("营业执照"),
					"PDF in a BOM":     append([]byte("\xef\xbb\xbf"), pdfOf(100)...),
					"plain ZIP":        zipOf(t, "readme.txt", "scan.pdf"),
					"OFD.xml nested":   zipOf(t, "Doc_0/OFD.xml"),
					"ofd.xml lower":    zipOf(t, "ofd.xml"),
					"OFD.xml is HTML":  zipWithOFDXML(t, string(htmlDoc), zip.Deflate),
					"truncated ZIP":    ofdDoc(t)[:40],
				} {
					_, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(data), IngestOptions{})
					if applications.ErrorKind(err) != applications.Invalid {
						t.Fatalf("%s: Ingest = %v, want Invalid", name, err)
					}
					if msg := applications.ErrorMessage(err); !strings.Contains(msg, "PDF、JPEG、PNG 或 OFD") {
						t.Fatalf("%s: message %q does not list the accepted types", name, msg)
					}
				}
				wantEmpty(t, s)
			})

			t.Run("RefusesEmptyFile", func(t *testing.T) {
				s := b.new(t)
				_, err := Ingest(ctx, s, NewKey("docs", testNow), strings.NewReader(""), IngestOptions{})
				wantKind(t, err, applications.Invalid, "文件为空")
				wantEmpty(t, s)
			})

			t.Run("AcceptsExactlyTheLimit", func(t *testing.T) {
				s := b.new(t)
				data := pdfOf(100 << 10)
				m, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(data), IngestOptions{MaxBytes: 100 << 10})
				if err != nil || m.Size != 100<<10 {
					t.Fatalf("Ingest at the limit = %+v, %v", m, err)
				}
			})

			t.Run("RefusesOneByteOverTheLimit", func(t *testing.T) {
				s := b.new(t)
				for _, enc := range []bool{false, true} {
					data := pdfOf(100<<10 + 1)
					_, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(data), IngestOptions{MaxBytes: 100 << 10, Encrypt: enc, MasterKey: master, Suite: su})
					wantKind(t, err, applications.TooLarge, "文件超过 100 KiB 上限")
				}
				wantEmpty(t, s)
			})

			t.Run("RefusesOverLimitFromMaxBytesReader", func(t *testing.T) {
				s := b.new(t)
				r := http.MaxBytesReader(nil, io.NopCloser(bytes.NewReader(pdfOf(10<<10))), 4<<10)
				_, err := Ingest(ctx, s, NewKey("docs", testNow), r, IngestOptions{MaxBytes: 4 << 10})
				wantKind(t, err, applications.TooLarge, "文件超过 4 KiB 上限")
				wantEmpty(t, s)
			})

			t.Run("ClientDisconnectIsBadRequestAndLeavesNothing", func(t *testing.T) {
				s := b.new(t)
				for _, data := range [][]byte{pdfOf(200 << 10), ofdDoc(t), pdfOf(5)} {
					r := &errReader{data: data[:len(data)-3], err: io.ErrUnexpectedEOF}
					_, err := Ingest(ctx, s, NewKey("docs", testNow), r, IngestOptions{Encrypt: true, MasterKey: master})
					wantKind(t, err, applications.BadRequest, MsgInterrupted)
					if !errors.Is(err, io.ErrUnexpectedEOF) {
						t.Fatalf("the cause is not kept for the log: %v", err)
					}
				}
				wantEmpty(t, s)
			})

			t.Run("CancelledRequestLeavesNothing", func(t *testing.T) {
				s := b.new(t)
				cctx, cancel := context.WithCancel(ctx)
				r := io.MultiReader(bytes.NewReader(pdfOf(64)), &cancelAfter{n: 128 << 10, cancel: cancel})
				if _, err := Ingest(cctx, s, NewKey("docs", testNow), r, IngestOptions{MaxBytes: 64 << 20}); err == nil {
					t.Fatal("Ingest with a cancelled request succeeded")
				}
				wantEmpty(t, s)
			})

			t.Run("EncryptedAtRest", func(t *testing.T) {
				s := b.new(t)
				secret := []byte("居民身份证 110105194912310021 ")
				data := append(pdfOf(9), bytes.Repeat(secret, 10000)...) // ~390 KiB, several segments
				key := NewKey("docs", testNow)
				m, err := Ingest(ctx, s, key, bytes.NewReader(data), IngestOptions{Encrypt: true, MasterKey: master, Suite: su})
				if err != nil {
					t.Fatal(err)
				}
				if wantLen := nonceLen + sl.keyLen + tagLen; !m.Encrypted || m.Algorithm != sl.alg || len(m.WrappedKey) != wantLen {
					t.Fatalf("meta %+v, want %s with a %d-byte wrapped key", m, sl.alg, wantLen)
				}
				if su == suite.Intl && (m.Algorithm != AlgorithmChunkedV1 || len(m.WrappedKey) != 60) {
					t.Fatalf("intl meta %+v, want today's aes-256-gcm-chunked-v1 with a 60-byte wrapped key", m)
				}
				stored := read(t, s, key)
				if want := storedLen(len(data)); len(stored) != want {
					t.Fatalf("stored %d bytes, want %d", len(stored), want)
				}
				for _, plain := range [][]byte{[]byte("110105194912310021"), []byte("%PDF"), []byte("居民身份证")} {
					if bytes.Contains(stored, plain) {
						t.Fatalf("stored bytes contain the plaintext %q", plain)
					}
				}
				got, err := readAllOf(t, s, key, m, master)
				if err != nil || !bytes.Equal(got, data) {
					t.Fatalf("decrypted %d bytes, %v; want the %d uploaded", len(got), err, len(data))
				}
			})

			t.Run("TamperingIsDetected", func(t *testing.T) {
				s := b.new(t)
				data := pdfOf(3*SegmentSize + 1000) // four segments, the last partial
				key := NewKey("docs", testNow)
				m, err := Ingest(ctx, s, key, bytes.NewReader(data), IngestOptions{Encrypt: true, MasterKey: master, Suite: su})
				if err != nil {
					t.Fatal(err)
				}
				orig := read(t, s, key)
				seg := func(i int) (int, int) { // stored byte range of full segment i
					start := encHeaderLen + i*(SegmentSize+tagLen)
					return start, start + SegmentSize + tagLen
				}
				for name, tamper := range map[string]func([]byte) []byte{
					"FlippedByte":        func(b []byte) []byte { b[len(b)/2] ^= 1; return b },
					"FlippedPrefix":      func(b []byte) []byte { b[magicLen] ^= 0x80; return b },
					"FlippedMagic":       func(b []byte) []byte { b[0] ^= 1; return b },
					"TruncatedLastSeg":   func(b []byte) []byte { return b[:len(b)-100] },
					"LastSegmentDropped": func(b []byte) []byte { _, e := seg(2); return b[:e] },
					"OnlyHeader":         func(b []byte) []byte { return b[:encHeaderLen] },
					"SwappedSegments": func(b []byte) []byte {
						s0, e0 := seg(0)
						s1, e1 := seg(1)
						out := append([]byte(nil), b[:s0]...)
						out = append(out, b[s1:e1]...)
						out = append(out, b[s0:e0]...)
						return append(out, b[e1:]...)
					},
					"RepeatedSegment": func(b []byte) []byte {
						s0, e0 := seg(0)
						_, e1 := seg(1)
						out := append([]byte(nil), b[:e0]...)
						out = append(out, b[s0:e0]...)
						return append(out, b[e1:]...)
					},
					"ByteAppended": func(b []byte) []byte { return append(b, 0) },
				} {
					t.Run(name, func(t *testing.T) {
						put(t, s, key, tamper(bytes.Clone(orig)))
						got, err := readAllOf(t, s, key, m, master)
						if !errors.Is(err, ErrCorrupt) {
							t.Fatalf("read of a tampered blob = %d bytes, %v; want ErrCorrupt", len(got), err)
						}
						if !bytes.HasPrefix(data, got) {
							t.Fatal("a failed read returned bytes that are not the authentic plaintext")
						}
					})
				}
				put(t, s, key, orig)

				t.Run("WrongMasterKey", func(t *testing.T) {
					_, err := readAllOf(t, s, key, m, testMasterKey(t))
					if !errors.Is(err, ErrCorrupt) {
						t.Fatalf("OpenDecrypted with the wrong master key = %v, want ErrCorrupt", err)
					}
				})
				t.Run("WrappedKeyFromAnotherBlob", func(t *testing.T) {
					other, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(data), IngestOptions{Encrypt: true, MasterKey: master, Suite: su})
					if err != nil {
						t.Fatal(err)
					}
					mixed := m
					mixed.WrappedKey = other.WrappedKey
					if _, err := readAllOf(t, s, key, mixed, master); !errors.Is(err, ErrCorrupt) {
						t.Fatalf("read with another blob's data key = %v, want ErrCorrupt", err)
					}
				})
				t.Run("PlaintextBlobTamperedIsDetectedByDigest", func(t *testing.T) {
					pk := NewKey("docs", testNow)
					pm, err := Ingest(ctx, s, pk, bytes.NewReader(data), IngestOptions{})
					if err != nil {
						t.Fatal(err)
					}
					b := read(t, s, pk)
					b[1000] ^= 1
					put(t, s, pk, b)
					if _, err := readAllOf(t, s, pk, pm, nil); !errors.Is(err, ErrCorrupt) {
						t.Fatalf("read of a tampered plaintext blob = %v, want ErrCorrupt", err)
					}
				})
				t.Run("UntouchedStillReads", func(t *testing.T) {
					got, err := readAllOf(t, s, key, m, master)
					if err != nil || !bytes.Equal(got, data) {
						t.Fatalf("read back %d bytes, %v", len(got), err)
					}
				})
			})
		})
	}
}

// TestIngestDefaultLimit uses the real 20 MiB limit and its message.
func TestIngestDefaultLimit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := newLocal(t)
	m, err := Ingest(ctx, s, NewKey("docs", testNow), &genReader{left: DefaultMaxBytes}, IngestOptions{})
	if err != nil || m.Size != DefaultMaxBytes {
		t.Fatalf("Ingest of exactly 20 MiB = %+v, %v", m, err)
	}
	_, err = Ingest(ctx, s, NewKey("docs", testNow), &genReader{left: DefaultMaxBytes + 1}, IngestOptions{})
	wantKind(t, err, applications.TooLarge, "文件超过 20 MiB 上限")
	if ks := keys(t, s, ""); len(ks) != 1 {
		t.Fatalf("store holds %q, want only the accepted file", ks)
	}
}

func TestIngestRefusesBadKeyAndMasterKey(t *testing.T) {
	t.Parallel()
	s := newLocal(t)
	if _, err := Ingest(context.Background(), s, "../营业执照.pdf", bytes.NewReader(pdfOf(100)), IngestOptions{}); !errors.Is(err, ErrBadKey) {
		t.Fatalf("Ingest with a path-like key = %v, want ErrBadKey", err)
	}
	if _, err := Ingest(context.Background(), s, "docs/k", bytes.NewReader(pdfOf(100)), IngestOptions{Encrypt: true, MasterKey: []byte("short")}); err == nil {
		t.Fatal("Ingest with a short master key succeeded")
	}
	wantEmpty(t, s)
}

func TestFormatSize(t *testing.T) {
	for n, want := range map[int64]string{20 << 20: "20 MiB", 512 << 10: "512 KiB", 1000: "1000 字节", 1<<20 + 1: "1048577 字节", 1536 << 10: "1536 KiB"} {
		if got := formatSize(n); got != want {
			t.Errorf("formatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
