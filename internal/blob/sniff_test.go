package blob

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"strings"
	"testing"

	"ite/internal/applications"
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		name string
		in   []byte
		kind string
	}{
		{"PDF", pdfOf(100), KindPDF},
		{"PDFHeaderOnly", []byte("%PDF-"), KindPDF},
		{"JPEG", jpegDoc, KindJPEG},
		{"PNG", pngDoc, KindPNG},
		{"ZIPIsProvisionalOFD", []byte("PK\x03\x04rest"), KindOFD},
		{"Empty", nil, ""},
		{"PDFPrefixCut", []byte("%PD"), ""},
		{"PNGPrefixCut", []byte("\x89PNG\r\n"), ""},
		{"ELF", elfDoc, ""},
		{"PE", peDoc, ""},
		{"HTML", htmlDoc, ""},
		{"SVG", []byte(`<svg xmlns="http://www.w3.org/2000/svg">`), ""},
		{"EmptyZIP", []byte("PK\x05\x06"), ""},
		{"GIF", []byte("GIF89a"), ""},
		{"LowercasePDF", []byte("%pdf-1.7"), ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			kind, ok := Sniff(c.in)
			if kind != c.kind || ok != (c.kind != "") {
				t.Fatalf("Sniff = %q, %v; want %q", kind, ok, c.kind)
			}
		})
	}
}

func TestIsOFD(t *testing.T) {
	check := func(t *testing.T, data []byte, want bool) {
		t.Helper()
		got, err := IsOFD(bytes.NewReader(data), int64(len(data)))
		if err != nil || got != want {
			t.Fatalf("IsOFD = %v, %v; want %v", got, err, want)
		}
	}
	t.Run("OFDAccepted", func(t *testing.T) { check(t, ofdDoc(t), true) })
	t.Run("OFDEntryLastAccepted", func(t *testing.T) { check(t, zipOf(t, "Doc_0/Document.xml", "Doc_0/Res/a.png", "OFD.xml"), true) })
	t.Run("ArchiveCommentAccepted", func(t *testing.T) {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		f, _ := w.Create("OFD.xml")
		f.Write([]byte(ofdRootXML))
		w.SetComment(strings.Repeat("注", 1000))
		w.Close()
		check(t, buf.Bytes(), true)
	})
	t.Run("Zip64Accepted", func(t *testing.T) { check(t, zip64Of("Doc_0/Document.xml", "OFD.xml"), true) })
	t.Run("Zip64WithoutOFDRefused", func(t *testing.T) { check(t, zip64Of("a.txt"), false) })
	t.Run("PlainZIPRefused", func(t *testing.T) { check(t, zipOf(t, "a.txt", "b/OFD.xml", "OFD.xml.bak", "OFD.XML"), false) })
	t.Run("EmptyZIPRefused", func(t *testing.T) { check(t, zipOf(t), false) })
	t.Run("TruncatedRefused", func(t *testing.T) {
		d := ofdDoc(t)
		for _, n := range []int{0, 4, 21, 22, len(d) / 2, len(d) - 1} {
			check(t, d[:n], false)
		}
	})
	t.Run("LyingEntryCountRefused", func(t *testing.T) {
		d := zipOf(t, "a.txt")
		binary.LittleEndian.PutUint16(d[len(d)-12:], 0xFFFE) // total entries
		check(t, d, false)
	})
	t.Run("StoredOFDXMLAccepted", func(t *testing.T) { check(t, zipWithOFDXML(t, ofdRootXML, zip.Store), true) })
	t.Run("OFDRootWithCommentAccepted", func(t *testing.T) {
		check(t, zipWithOFDXML(t, "\ufeff<!-- 由某软件生成 -->\n<OFD xmlns=\"http://www.ofdspec.org/2016\" Version=\"1.1\"/>", zip.Deflate), true)
	})
	for name, content := range map[string]string{
		"HTMLRefused":           "<!DOCTYPE html><html><script>alert(1)</script></html>",
		"HTMLWithoutDoctype":    "<html><body>OFD</body></html>",
		"OtherRootRefused":      `<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"/>`,
		"OtherNamespaceRefused": `<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2017"/>`,
		"NoNamespaceRefused":    `<OFD Version="1.0"/>`,
		"TextRefused":           "OFD",
		"EmptyRefused":          "",
		"NotXMLRefused":         "\x00\x01\x02<",
	} {
		t.Run(name, func(t *testing.T) {
			check(t, zipWithOFDXML(t, content, zip.Deflate), false)
			check(t, zipWithOFDXML(t, content, zip.Store), false)
		})
	}
	t.Run("DirectoryOffsetOutOfRangeRefused", func(t *testing.T) {
		d := ofdDoc(t)
		binary.LittleEndian.PutUint32(d[len(d)-6:], uint32(len(d))) // offset of the directory
		check(t, d, false)
	})
}

// zip64Of writes a ZIP whose end records are in zip64 form (as some
// producers write them even for small files): stored, empty entries.
func zip64Of(names ...string) []byte {
	var b bytes.Buffer
	le := func(v any) { binary.Write(&b, binary.LittleEndian, v) }
	offsets := make([]uint32, len(names))
	content := func(n string) []byte {
		if n == "OFD.xml" {
			return []byte(ofdRootXML)
		}
		return nil
	}
	for i, n := range names {
		offsets[i] = uint32(b.Len())
		c := content(n)
		le(uint32(0x04034b50))
		le([5]uint16{20, 0, 0, 0, 0})                                        // version, flags, method, time, date
		le([3]uint32{crc32.ChecksumIEEE(c), uint32(len(c)), uint32(len(c))}) // crc, sizes
		le([2]uint16{uint16(len(n)), 0})
		b.WriteString(n)
		b.Write(c)
	}
	cdOff := b.Len()
	for i, n := range names {
		c := content(n)
		le(uint32(sigCentralFile))
		le([6]uint16{20, 20, 0, 0, 0, 0})
		le([3]uint32{crc32.ChecksumIEEE(c), uint32(len(c)), uint32(len(c))})
		le([5]uint16{uint16(len(n)), 0, 0, 0, 0})
		le([2]uint32{0, offsets[i]})
		b.WriteString(n)
	}
	cdSize := b.Len() - cdOff
	rec := b.Len()
	le(uint32(sigEOCD64))
	le(uint64(eocd64Len - 12))
	le([2]uint16{45, 45})
	le([2]uint32{0, 0})
	le([4]uint64{uint64(len(names)), uint64(len(names)), uint64(cdSize), uint64(cdOff)})
	le(uint32(sigEOCD64Loc))
	le(uint32(0))
	le(uint64(rec))
	le(uint32(1))
	le(uint32(sigEOCD))
	le([4]uint16{0, 0, 0xFFFF, 0xFFFF})
	le([2]uint32{0xFFFFFFFF, 0xFFFFFFFF})
	le(uint16(0))
	return b.Bytes()
}

func TestZip64FixtureIsAZip(t *testing.T) {
	// Guards the hand-built fixture: the standard library must read it.
	d := zip64Of("x/y.xml", "OFD.xml")
	r, err := zip.NewReader(bytes.NewReader(d), int64(len(d)))
	if err != nil || len(r.File) != 2 || r.File[1].Name != "OFD.xml" {
		t.Fatalf("archive/zip reads the zip64 fixture as %v, %v", r, err)
	}
}

func TestIngestOFDWithHugeDirectoryRefused(t *testing.T) {
	// A directory larger than the window Ingest keeps is refused rather
	// than read from a temporary copy of the file.
	t.Parallel()
	var names []string
	for i := range 20000 {
		names = append(names, fmt.Sprintf("Doc_0/Pages/Page_%05d/Content.xml", i))
	}
	names = append(names, "OFD.xml")
	data := zip64Of(names...)
	cdSize := 0
	for _, n := range names {
		cdSize += cdHeaderLen + len(n)
	}
	if cdSize <= ofdTailWindow {
		t.Fatalf("fixture directory only %d bytes; the test needs one beyond the window", cdSize)
	}
	if ok, err := IsOFD(bytes.NewReader(data), int64(len(data))); !ok || err != nil {
		t.Fatalf("IsOFD on the whole file = %v, %v; want true", ok, err)
	}
	s := newLocal(t)
	_, err := Ingest(context.Background(), s, NewKey("docs", testNow), bytes.NewReader(data), IngestOptions{})
	wantKind(t, err, applications.Invalid, "OFD")
	wantEmpty(t, s)
}

func TestTailWindow(t *testing.T) {
	data := make([]byte, 10000)
	for i := range data {
		data[i] = byte(i * 13)
	}
	for _, chunk := range []int{1, 7, 100, 999, 4096, 10000} {
		w := newTailWindow(1000)
		for i := 0; i < len(data); i += chunk {
			w.Write(data[i:min(i+chunk, len(data))])
		}
		got := make([]byte, 1000)
		if n, err := w.ReadAt(got, 9000); n != 1000 || err != nil || !bytes.Equal(got, data[9000:]) {
			t.Fatalf("chunk %d: ReadAt(last 1000) = %d, %v", chunk, n, err)
		}
		if n, err := w.ReadAt(got[:10], 9995); n != 5 || !bytes.Equal(got[:5], data[9995:]) || err == nil {
			t.Fatalf("chunk %d: ReadAt past the end = %d, %v; want 5 bytes and io.EOF", chunk, n, err)
		}
		if _, err := w.ReadAt(got[:10], 8999); err == nil {
			t.Fatalf("chunk %d: ReadAt before the window succeeded", chunk)
		}
	}
}

func TestIngestOFDRoot(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	t.Run("HTMLAsOFDXMLRefusedWithReason", func(t *testing.T) {
		s := newLocal(t)
		data := zipWithOFDXML(t, string(htmlDoc), zip.Deflate)
		_, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(data), IngestOptions{})
		wantKind(t, err, applications.Invalid, "OFD.xml 不是 OFD 入口文件")
		wantEmpty(t, s)
	})
	t.Run("LargeOFDAccepted", func(t *testing.T) {
		// OFD.xml first, then 3 MiB of pages: its root lies in the head
		// window, the directory in the tail window, the middle in neither.
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		f, _ := w.Create("OFD.xml")
		f.Write([]byte(ofdRootXML))
		g, _ := w.CreateHeader(&zip.FileHeader{Name: "Doc_0/Res/scan.png", Method: zip.Store})
		noise := make([]byte, 3<<20)
		rand.Read(noise)
		g.Write(noise)
		w.Close()
		s := newLocal(t)
		m, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(buf.Bytes()), IngestOptions{})
		if err != nil || m.Kind != KindOFD {
			t.Fatalf("Ingest = %+v, %v; want an OFD", m, err)
		}
	})
	t.Run("OFDXMLOutsideWindowsRefused", func(t *testing.T) {
		var buf bytes.Buffer
		w := zip.NewWriter(&buf)
		g, _ := w.CreateHeader(&zip.FileHeader{Name: "Doc_0/Res/scan.png", Method: zip.Store})
		noise := make([]byte, 3<<20)
		rand.Read(noise)
		g.Write(noise)
		f, _ := w.CreateHeader(&zip.FileHeader{Name: "OFD.xml", Method: zip.Store})
		f.Write([]byte(ofdRootXML))
		g, _ = w.CreateHeader(&zip.FileHeader{Name: "Doc_0/Res/scan2.png", Method: zip.Store})
		g.Write(noise[:ofdTailWindow])
		w.Close()
		s := newLocal(t)
		_, err := Ingest(ctx, s, NewKey("docs", testNow), bytes.NewReader(buf.Bytes()), IngestOptions{})
		wantKind(t, err, applications.Invalid, "OFD")
		wantEmpty(t, s)
	})
}
