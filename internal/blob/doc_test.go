package blob

import (
	"archive/zip"
	"bytes"
	"testing"
)

// Test documents: only their first bytes (and a ZIP's directory) matter.

func pdfOf(size int) []byte {
	b := make([]byte, size)
	copy(b, "%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
	for i := 16; i < size; i++ {
		b[i] = byte('a' + i%26)
	}
	return b
}

var (
	jpegDoc = append([]byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}, bytes.Repeat([]byte{0x42}, 300)...)
	pngDoc  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR"), bytes.Repeat([]byte{7}, 300)...)
	elfDoc  = append([]byte("\x7fELF\x02\x01\x01\x00"), bytes.Repeat([]byte{0}, 300)...)
	peDoc   = append([]byte("MZ\x90\x00\x03\x00\x00\x00"), bytes.Repeat([]byte{0}, 300)...)
	htmlDoc = []byte("<!DOCTYPE html><html><script>alert(1)</script></html>")
)

// ofdRootXML is a minimal OFD entry file (GB/T 33190 §7.4).
const ofdRootXML = `<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD">
  <ofd:DocBody><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody>
</ofd:OFD>`

// zipOf builds a ZIP holding the named entries (a valid OFD root each).
func zipOf(t testing.TB, names ...string) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	for _, n := range names {
		f, err := w.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		f.Write([]byte(ofdRootXML))
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func ofdDoc(t testing.TB) []byte {
	return zipOf(t, "OFD.xml", "Doc_0/Document.xml", "Doc_0/Pages/Page_0/Content.xml")
}

// zipWithOFDXML builds a ZIP whose OFD.xml holds content, deflated or
// stored.
func zipWithOFDXML(t testing.TB, content string, method uint16) []byte {
	t.Helper()
	var buf bytes.Buffer
	w := zip.NewWriter(&buf)
	f, err := w.CreateHeader(&zip.FileHeader{Name: "OFD.xml", Method: method})
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte(content))
	g, _ := w.Create("Doc_0/Document.xml")
	g.Write([]byte("<ofd:Document/>"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
