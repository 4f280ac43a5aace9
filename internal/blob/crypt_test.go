package blob

import (
	"bytes"
	"context"
	"errors"
	"io"
	"runtime"
	"runtime/metrics"
	"sync"
	"testing"
	"testing/iotest"
	"time"

	"ite/internal/suite"
)

var testNow = time.Date(2026, 11, 3, 10, 0, 0, 0, time.UTC)

// testSuites are the CRYPTO choices; the storage tests run under each.
var testSuites = []suite.Suite{suite.Intl, suite.GM}

// forEachSealing runs fn as a subtest per encryption algorithm, with a
// random data key of its size.
func forEachSealing(t *testing.T, fn func(t *testing.T, sl *sealing, key []byte)) {
	for _, su := range testSuites {
		sl := sealingOf(su)
		t.Run(sl.alg, func(t *testing.T) { fn(t, sl, testMasterKey(t)[:sl.keyLen]) })
	}
}

// storedLen is the size of the stored form of n plaintext bytes (see the
// format in crypt.go).
func storedLen(n int) int {
	segs := max(1, (n+SegmentSize-1)/SegmentSize)
	return encHeaderLen + n + segs*tagLen
}

func encrypt(t testing.TB, sl *sealing, plain []byte, key []byte, src func(io.Reader) io.Reader) []byte {
	t.Helper()
	e, err := newEncryptReader(src(bytes.NewReader(plain)), sl, key)
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(e)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func decrypt(sl *sealing, stored, key []byte, src func(io.Reader) io.Reader) ([]byte, error) {
	d, err := newDecryptReader(src(bytes.NewReader(stored)), sl, key)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(src(d))
}

func TestChunkedRoundTrip(t *testing.T) {
	t.Parallel()
	forEachSealing(t, testChunkedRoundTrip)
}

func testChunkedRoundTrip(t *testing.T, sl *sealing, key []byte) {
	readers := map[string]func(io.Reader) io.Reader{
		"WholeReads":   func(r io.Reader) io.Reader { return r },
		"OneByteReads": iotest.OneByteReader,
		"HalfReads":    iotest.HalfReader,
	}
	for _, n := range []int{0, 1, SegmentSize - 1, SegmentSize, SegmentSize + 1, 2 * SegmentSize, 1<<20 + 7} {
		plain := make([]byte, n)
		for i := range plain {
			plain[i] = byte(i*31 + i>>16)
		}
		for name, src := range readers {
			if name == "OneByteReads" && n > 2*SegmentSize {
				continue // slow and adds nothing the smaller sizes do not cover
			}
			stored := encrypt(t, sl, plain, key, src)
			if len(stored) != storedLen(n) {
				t.Errorf("size %d, %s: stored %d bytes, want %d", n, name, len(stored), storedLen(n))
			}
			got, err := decrypt(sl, stored, key, src)
			if err != nil || !bytes.Equal(got, plain) {
				t.Fatalf("size %d, %s: round trip gave %d bytes, %v", n, name, len(got), err)
			}
		}
	}
}

func TestChunkedSameInputDiffersEachTime(t *testing.T) {
	// The random nonce prefix: even under one data key (which Ingest never
	// reuses) two encryptions share no keystream.
	forEachSealing(t, func(t *testing.T, sl *sealing, key []byte) {
		plain := pdfOf(1000)
		id := func(r io.Reader) io.Reader { return r }
		a, b := encrypt(t, sl, plain, key, id), encrypt(t, sl, plain, key, id)
		if bytes.Equal(a[encHeaderLen:], b[encHeaderLen:]) {
			t.Fatal("two encryptions of the same plaintext produced the same bytes")
		}
	})
}

func TestChunkedHeaderWithoutSegmentsIsCorrupt(t *testing.T) {
	// Every stored blob has at least one (last) segment; a header alone is
	// a truncation, not an empty file.
	forEachSealing(t, func(t *testing.T, sl *sealing, key []byte) {
		id := func(r io.Reader) io.Reader { return r }
		stored := encrypt(t, sl, nil, key, id)
		if _, err := decrypt(sl, stored[:encHeaderLen], key, id); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("header without segments = %v, want ErrCorrupt", err)
		}
		if _, err := decrypt(sl, stored[:encHeaderLen-1], key, id); !errors.Is(err, ErrCorrupt) {
			t.Fatalf("short header = %v, want ErrCorrupt", err)
		}
	})
}

// TestChunkedOtherAlgorithmIsCorrupt: a blob read under the other
// algorithm (a row whose enc_alg was changed) fails at its magic.
func TestChunkedOtherAlgorithmIsCorrupt(t *testing.T) {
	id := func(r io.Reader) io.Reader { return r }
	key := testMasterKey(t)[:16]
	stored := encrypt(t, sm4Sealing, pdfOf(100), key, id)
	if _, err := decrypt(aesSealing, stored, testMasterKey(t), id); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("SM4 blob read as AES = %v, want ErrCorrupt", err)
	}
}

// genReader produces left bytes of a "PDF" without allocating: a header,
// then a fixed pseudo-random block repeated.
type genReader struct {
	left int64
	off  int64
}

var genBlock = func() []byte {
	b := make([]byte, 64<<10)
	x := uint32(2463534242)
	for i := range b {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		b[i] = byte(x)
	}
	copy(b, "%PDF-1.7\n")
	return b
}()

func (g *genReader) Read(p []byte) (int, error) {
	if g.left == 0 {
		return 0, io.EOF
	}
	p = p[:min(int64(len(p)), g.left)]
	n := 0
	for n < len(p) {
		c := copy(p[n:], genBlock[g.off%int64(len(genBlock)):])
		n += c
		g.off += int64(c)
	}
	g.left -= int64(n)
	return n, nil
}

// heapPeak samples the live heap every few milliseconds until stop is
// called, and returns the highest value seen. runtime/metrics reads do not
// stop the world, so sampling does not disturb what it measures.
func heapPeak() (stop func() uint64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	var peak uint64
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			metrics.Read(sample)
			peak = max(peak, sample[0].Value.Uint64())
			select {
			case <-done:
				return
			case <-tick.C:
			}
		}
	})
	return func() uint64 {
		close(done)
		wg.Wait()
		return peak
	}
}

const ingestBenchSize = 200 << 20

type memUse struct {
	allocated  uint64 // bytes allocated during the ingest (runtime TotalAlloc delta)
	heapGrowth int64  // peak live heap minus live heap before
}

func ingestMeasured(tb testing.TB, s Store, opts IngestOptions) (Meta, memUse) {
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	stop := heapPeak()
	m, err := Ingest(context.Background(), s, NewKey("docs", testNow), &genReader{left: ingestBenchSize}, opts)
	peak := stop()
	runtime.ReadMemStats(&after)
	if err != nil {
		tb.Fatal(err)
	}
	if m.Size != ingestBenchSize {
		tb.Fatalf("ingested %d bytes, want %d", m.Size, ingestBenchSize)
	}
	return m, memUse{allocated: after.TotalAlloc - before.TotalAlloc, heapGrowth: int64(peak) - int64(before.HeapAlloc)}
}

// TestIngestMemoryBounded200MiB is the check that a 200 MiB upload
// never sits in memory: everything allocated during the whole ingest (not
// just the peak) stays far under 32 MiB. Allocation counts are
// deterministic; the peak is sampled and only reported.
func TestIngestMemoryBounded200MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 400 MiB to disk")
	}
	for _, c := range []struct {
		enc bool
		su  suite.Suite
	}{{false, suite.Intl}, {true, suite.Intl}, {true, suite.GM}} {
		s := newLocal(t)
		opts := IngestOptions{MaxBytes: ingestBenchSize, Encrypt: c.enc, MasterKey: testMasterKey(t), Suite: c.su}
		_, use := ingestMeasured(t, s, opts)
		t.Logf("encrypt=%v %s: allocated %.2f MiB during the ingest, peak heap growth %.2f MiB",
			c.enc, c.su, float64(use.allocated)/(1<<20), float64(use.heapGrowth)/(1<<20))
		if use.allocated > 8<<20 {
			t.Errorf("encrypt=%v %s: ingesting 200 MiB allocated %d bytes, want far under 32 MiB", c.enc, c.su, use.allocated)
		}
	}
}

// BenchmarkIngest200MiB streams a generated 200 MiB PDF into the local
// store. Run with:
//
//	go test ./internal/blob -run '^$' -bench Ingest200MiB -benchmem
//
// B/op is everything allocated per 200 MiB upload; peak-heap-MiB is the
// sampled growth of the live heap.
func BenchmarkIngest200MiB(b *testing.B) {
	for _, enc := range []bool{false, true} {
		name := "Plain"
		if enc {
			name = "Encrypted"
		}
		b.Run(name, func(b *testing.B) {
			s := newLocal(b)
			opts := IngestOptions{MaxBytes: ingestBenchSize, Encrypt: enc, MasterKey: testMasterKey(b)}
			b.SetBytes(ingestBenchSize)
			b.ReportAllocs()
			var peak int64
			for b.Loop() {
				key, growth := ingestMeasuredNoGC(b, s, opts)
				peak = max(peak, growth)
				b.StopTimer()
				if err := s.Delete(context.Background(), key); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
			}
			b.ReportMetric(float64(peak)/(1<<20), "peak-heap-MiB")
		})
	}
}

// ingestMeasuredNoGC is ingestMeasured without the GC and MemStats calls,
// which would distort the benchmark's timing.
func ingestMeasuredNoGC(b *testing.B, s Store, opts IngestOptions) (key string, heapGrowth int64) {
	sample := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(sample)
	base := sample[0].Value.Uint64()
	stop := heapPeak()
	key = NewKey("docs", testNow)
	_, err := Ingest(context.Background(), s, key, &genReader{left: ingestBenchSize}, opts)
	peak := stop()
	if err != nil {
		b.Fatal(err)
	}
	return key, int64(peak) - int64(base)
}
