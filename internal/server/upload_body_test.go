package server

import (
	"bytes"
	"crypto/rand"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"
	"testing/iotest"
)

const testBoundary = "ITE-test-boundary-0123456789"

// uploadOf builds a multipart body: a field, then a file part named name
// whose content is data.
func uploadOf(t *testing.T, name string, data []byte) ([]byte, string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	_ = mw.SetBoundary(testBoundary)
	_ = mw.WriteField("uscc", "91110108MA01XXXXX1")
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		t.Fatal(err)
	}
	fw.Write(data)
	mw.Close()
	return b.Bytes(), mw.FormDataContentType()
}

func filtered(t *testing.T, body []byte, ct string, wrap func(io.Reader) io.Reader) *uploadBody {
	t.Helper()
	r, _ := http.NewRequest("POST", "/x", io.NopCloser(wrap(bytes.NewReader(body))))
	r.Header.Set("Content-Type", ct)
	ub := newUploadBody(r)
	if ub == nil {
		t.Fatal("no upload body for a multipart request")
	}
	return ub
}

// TestUploadBodyPassesFilesUnchanged: whatever the file holds (random
// bytes, CRLFs, control characters, text that nearly matches the
// boundary) and however the network splits it, the filter hands on the
// body byte for byte and sees the closing boundary.
func TestUploadBodyPassesFilesUnchanged(t *testing.T) {
	random := make([]byte, 300<<10)
	rand.Read(random)
	var near bytes.Buffer // the boundary but its last character, split every which way
	for range 5000 {
		near.WriteString("\r\n--" + testBoundary[:len(testBoundary)-1] + "\x01\x02\r\n\r\n")
	}
	for name, data := range map[string][]byte{"random": random, "near-boundaries": near.Bytes(), "empty": nil} {
		body, ct := uploadOf(t, "a.pdf", data)
		for wrapName, wrap := range map[string]func(io.Reader) io.Reader{
			"whole": func(r io.Reader) io.Reader { return r }, "byte-by-byte": iotest.OneByteReader, "halves": iotest.HalfReader,
		} {
			ub := filtered(t, body, ct, wrap)
			got, err := io.ReadAll(ub)
			if err != nil || !bytes.Equal(got, body) {
				t.Fatalf("%s %s: filter changed the body (%d → %d bytes, %v)", name, wrapName, len(body), len(got), err)
			}
			if ub.cutOff != nil || ub.n != int64(len(body)) {
				t.Fatalf("%s %s: cut off %v after %d bytes of %d", name, wrapName, ub.cutOff, ub.n, len(body))
			}
		}
	}
}

func TestUploadBodyCleansPartHeaders(t *testing.T) {
	body, ct := uploadOf(t, "报告\x01\x1b\x7f.pdf", []byte("%PDF-1.4 \x01\x02 body keeps its bytes"))
	ub := filtered(t, body, ct, iotest.OneByteReader)
	_, params, _ := strings.Cut(ct, "boundary=")
	mr := multipart.NewReader(ub, params)
	if p, err := mr.NextPart(); err != nil || p.FormName() != "uscc" {
		t.Fatalf("first part: %v", err)
	}
	p, err := mr.NextPart()
	if err != nil {
		t.Fatalf("a file name with control characters still breaks the header: %v", err)
	}
	data, _ := io.ReadAll(p)
	if p.FileName() != "报告.pdf" || string(data) != "%PDF-1.4 \x01\x02 body keeps its bytes" {
		t.Fatalf("file %q, body %q", p.FileName(), data)
	}
	if _, err := mr.NextPart(); err != io.EOF || ub.cutOff != nil {
		t.Fatalf("end: %v, cut off %v", err, ub.cutOff)
	}
}

func TestUploadBodyNotesCutOff(t *testing.T) {
	body, ct := uploadOf(t, "a.pdf", bytes.Repeat([]byte("x"), 100<<10))
	for _, n := range []int{0, 10, len(body) / 2, len(body) - 3} {
		ub := filtered(t, body[:n], ct, iotest.HalfReader)
		got, err := io.ReadAll(ub)
		if err != nil || !bytes.Equal(got, body[:n]) || ub.cutOff != io.ErrUnexpectedEOF {
			t.Fatalf("cut at %d: %d bytes, %v, cut off %v", n, len(got), err, ub.cutOff)
		}
	}
	// A body that fails (a reset connection) is noted with its error.
	ub := filtered(t, body, ct, func(r io.Reader) io.Reader { return iotest.TimeoutReader(r) })
	io.ReadAll(ub)
	if ub.cutOff != iotest.ErrTimeout {
		t.Fatalf("failed body: cut off %v", ub.cutOff)
	}
}

// FuzzUploadBody: whatever a file holds and however its body is split,
// the filter hands a well-formed upload on byte for byte. Run with:
//
//	go test ./internal/server -run '^$' -fuzz FuzzUploadBody -fuzztime 1m
func FuzzUploadBody(f *testing.F) {
	f.Add([]byte("%PDF-1.4\r\n--"+testBoundary[:10]+"\r\n\x00\x01"), uint8(1))
	f.Add([]byte("\r\n--"+testBoundary+"-not-quite"), uint8(7))
	f.Add([]byte{}, uint8(0))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		if bytes.Contains(data, []byte("\r\n--"+testBoundary)) || bytes.Contains(data, []byte("\n--"+testBoundary)) {
			t.Skip() // a sender never puts its own delimiter in a part (RFC 2046 §5.1.1)
		}
		body, ct := uploadOf(t, "a.pdf", data)
		chunk := int(split)%64 + 1
		ub := filtered(t, body, ct, func(r io.Reader) io.Reader { return &chunkReader{r: r, n: chunk} })
		got, err := io.ReadAll(ub)
		if err != nil || !bytes.Equal(got, body) || ub.cutOff != nil {
			t.Fatalf("chunks of %d: %d bytes in, %d out, %v, cut off %v", chunk, len(body), len(got), err, ub.cutOff)
		}
	})
}

// chunkReader returns at most n bytes a Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) { return c.r.Read(p[:min(len(p), c.n)]) }
