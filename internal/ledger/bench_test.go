package ledger

import (
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"
)

// Export benchmarks: go test -run '^$' -bench 'Export' -benchmem -benchtime 1x ./internal/ledger/
//
// Each op writes a whole export. Besides -benchmem's totals (allocated over
// the op, which grow with rows and are all garbage) they report peak-heap-MiB,
// the largest live heap seen while writing: that is what must stay flat, and
// far under 100 MiB, whatever the row count. peak-rss-MiB is the process's
// high-water mark (VmHWM), meaningful when one benchmark runs per process.

const mib = 1 << 20

// heapWatch samples the in-use heap every so many rows.
type heapWatch struct{ peak uint64 }

func (h *heapWatch) sample() {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h.peak = max(h.peak, m.HeapInuse)
}

func peakRSS() float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}

// benchEntry is a realistic sealed entry; rows vary its sequence number.
func benchEntry(b *testing.B) Entry {
	e := complete(must(b)(Disbursement(7, 123, dec("1234567.89"))))
	e.Memo = "拨付先投资金，第一期，凭证号 PZ-2025-000123"
	e.CreatedAt = time.Date(2025, 3, 14, 9, 30, 0, 0, time.UTC)
	e, err := Seal(Genesis(), e)
	if err != nil {
		b.Fatal(err)
	}
	return e
}

func benchExport(b *testing.B, format Format, rows int, dst func() io.Writer) {
	e := benchEntry(b)
	var h heapWatch
	runtime.GC()
	b.ResetTimer()
	for b.Loop() {
		rw, err := NewRowWriter(format, dst(), JournalTable)
		if err != nil {
			b.Fatal(err)
		}
		row := make([]Value, 0, len(JournalTable.Columns))
		for i := range rows {
			e.Seq = int64(i/2 + 1)
			row = AppendJournalRow(row[:0], &e, e.Postings[i%2])
			if err := rw.WriteRow(row...); err != nil {
				b.Fatal(err)
			}
			if i%50_000 == 0 {
				h.sample()
			}
		}
		if err := rw.Close(e.Head()); err != nil {
			b.Fatal(err)
		}
		h.sample()
	}
	b.ReportMetric(float64(rows)*float64(b.N)/b.Elapsed().Seconds(), "rows/s")
	b.ReportMetric(float64(h.peak)/mib, "peak-heap-MiB")
	b.ReportMetric(peakRSS(), "peak-rss-MiB")
}

// BenchmarkExportCSV1M writes a 1,000,000-row journal as CSV to io.Discard.
func BenchmarkExportCSV1M(b *testing.B) {
	benchExport(b, FormatCSV, 1_000_000, func() io.Writer { return io.Discard })
}

// BenchmarkExportXLSX200k writes a 200,000-row journal as XLSX to a file.
func BenchmarkExportXLSX200k(b *testing.B) { benchExportXLSXFile(b, 200_000) }

// benchExportXLSXFile writes rows journal rows as XLSX to a new file per op
// and reports the size of the last one.
func benchExportXLSXFile(b *testing.B, rows int) {
	dir := b.TempDir()
	var f *os.File
	b.Cleanup(func() {
		if f != nil {
			_ = f.Close()
		}
	})
	benchExport(b, FormatXLSX, rows, func() io.Writer {
		if f != nil {
			_ = f.Close()
		}
		var err error
		if f, err = os.CreateTemp(dir, "journal-*.xlsx"); err != nil {
			b.Fatal(err)
		}
		return f
	})
	if fi, err := f.Stat(); err == nil {
		b.ReportMetric(float64(fi.Size())/mib, "file-MiB")
	}
}

// BenchmarkVerify1M feeds 1,000,000 sealed entries through a Verifier, the
// way `ledger verify` reads them from a cursor.
func BenchmarkVerify1M(b *testing.B) {
	const n = 1_000_000
	tmpl := benchEntry(b)
	var h heapWatch
	for b.Loop() {
		v := NewVerifier()
		head := Genesis()
		for i := range n {
			e := tmpl
			e.Seq, e.PrevHash = int64(i+1), head.Hash
			// Sealing here costs one more hash per entry; it stands in for
			// reading a row, which also costs something.
			e.Hash = Hash(head.Hash, e)
			head = e.Head()
			if err := v.Add(e); err != nil {
				b.Fatal(err)
			}
			if i%100_000 == 0 {
				h.sample()
			}
		}
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
	b.ReportMetric(float64(h.peak)/mib, "peak-heap-MiB")
}

// BenchmarkExportXLSX1M writes a 1,000,000-row journal as XLSX to a file:
// the ledger size, to show memory stays flat once the compressed
// sheet has spilled to a temporary file. Run it on its own.
func BenchmarkExportXLSX1M(b *testing.B) { benchExportXLSXFile(b, 1_000_000) }
