package server

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"net/http"
	"strings"
)

// uploadBody is the body of a multipart request as the upload handlers
// read it: the bytes as sent, with two exceptions.
//
//   - Control characters in a part's header lines are dropped. A browser
//     sends a file name such as "报告\x01.pdf" raw in Content-Disposition;
//     mime/multipart refuses the whole header as malformed, and the
//     upload failed with "上传中断". Dropped, the part parses and
//     displayName keeps the rest of the name (or a default when nothing
//     is left). Part bodies (the files) are never touched.
//   - It notes when the body ends, or fails, before the closing boundary:
//     a client that dropped mid-upload. csrf logs that once, at INFO.
//
// It scans for the delimiter "\r\n--boundary" with a window of one
// bufio buffer, so memory stays bounded whatever the upload's size.
type uploadBody struct {
	src   io.ReadCloser
	br    *bufio.Reader
	first []byte // "--boundary": the first delimiter may open the body
	delim []byte // "\r\n--boundary"
	state int
	out   []byte // ready to be read
	buf   []byte // out's storage, reused
	err   error  // the source's error (io.EOF at the end), once out is drained
	done  bool   // the closing delimiter has passed
	n     int64  // bytes read from the source
	// cutOff is the source's error when it came before the closing
	// delimiter (io.ErrUnexpectedEOF for a body that just stopped).
	cutOff error
}

const (
	inStart     = iota // before the first delimiter
	inBody             // a part's body, or the preamble
	inDelimLine        // the rest of a delimiter's line
	inHeaders          // a part's header lines
	inEpilogue         // after the closing delimiter
)

// newUploadBody wraps r's body if r is multipart with a boundary, else
// returns nil.
func newUploadBody(r *http.Request) *uploadBody {
	media, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	boundary := params["boundary"]
	if err != nil || !strings.HasPrefix(media, "multipart/") || boundary == "" || r.Body == nil || r.Body == http.NoBody {
		return nil
	}
	b := &uploadBody{src: r.Body, first: []byte("--" + boundary), delim: []byte("\r\n--" + boundary)}
	b.br = bufio.NewReaderSize(countingReader{r.Body, &b.n}, 64<<10)
	return b
}

func (b *uploadBody) Read(p []byte) (int, error) {
	for len(b.out) == 0 && b.err == nil {
		b.buf = b.buf[:0]
		b.step()
		b.out = b.buf
	}
	n := copy(p, b.out)
	b.out = b.out[n:]
	if len(b.out) == 0 && b.err != nil {
		return n, b.err
	}
	return n, nil
}

func (b *uploadBody) Close() error { return b.src.Close() }

// step moves at least one byte of the source into b.buf, or ends the
// stream.
func (b *uploadBody) step() {
	switch b.state {
	case inStart:
		head, _ := b.br.Peek(len(b.first))
		if bytes.Equal(head, b.first) {
			b.take(len(head))
			b.state = inDelimLine
			return
		}
		b.state = inBody
	case inDelimLine:
		line, err := b.br.ReadSlice('\n')
		b.buf = append(b.buf, line...)
		switch {
		case err == bufio.ErrBufferFull:
			// An absurd line: pass it on for mime/multipart to refuse.
		case err != nil:
			b.finish(err)
		case bytes.HasPrefix(line, []byte("--")):
			b.done, b.state = true, inEpilogue
		default:
			if !bytes.HasSuffix(line, []byte("\r\n")) && b.delim[0] == '\r' {
				// Bare LF line ends, which mime/multipart accepts too.
				b.delim = b.delim[1:]
			}
			b.state = inHeaders
		}
		return
	case inHeaders:
		line, err := b.br.ReadSlice('\n')
		switch {
		case err == bufio.ErrBufferFull:
			b.buf = append(b.buf, line...)
		case err != nil:
			b.buf = append(b.buf, line...)
			b.finish(err)
		case string(line) == "\r\n" || string(line) == "\n":
			b.buf = append(b.buf, line...)
			b.state = inBody
		default:
			text := bytes.TrimSuffix(bytes.TrimSuffix(line, []byte("\n")), []byte("\r"))
			for _, c := range text {
				if c >= 0x20 && c != 0x7f || c == '\t' {
					b.buf = append(b.buf, c)
				}
			}
			b.buf = append(b.buf, line[len(text):]...)
		}
		return
	case inEpilogue:
		if _, err := b.br.Peek(1); err != nil {
			b.finish(err)
			return
		}
		b.take(b.br.Buffered())
		return
	}
	// inBody: pass everything up to and including the next delimiter,
	// holding back a tail that could be the start of one.
	if _, err := b.br.Peek(1); err != nil {
		b.finish(err)
		return
	}
	buf, _ := b.br.Peek(b.br.Buffered())
	if i := bytes.Index(buf, b.delim); i >= 0 {
		b.take(i + len(b.delim))
		b.state = inDelimLine
		return
	}
	if keep := len(b.delim) - 1; len(buf) > keep {
		b.take(len(buf) - keep)
		return
	}
	more, err := b.br.Peek(len(buf) + 1)
	if err != nil {
		b.take(len(more))
		b.finish(err)
	}
}

// take moves n bytes from the reader to the output.
func (b *uploadBody) take(n int) {
	p, _ := b.br.Peek(n)
	b.buf = append(b.buf, p...)
	_, _ = b.br.Discard(len(p))
}

// finish ends the stream with the source's error and notes whether it came
// before the closing delimiter.
func (b *uploadBody) finish(err error) {
	b.err = err
	if !b.done {
		b.cutOff = err
		if err == io.EOF {
			b.cutOff = io.ErrUnexpectedEOF
		}
	}
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r io.Reader
	n *int64
}

func (c countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	*c.n += int64(n)
	return n, err
}
