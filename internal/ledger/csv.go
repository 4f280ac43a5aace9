package ledger

import (
	"bufio"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"
)

// utf8BOM makes Excel open the file as UTF-8; without it Chinese headers
// come out garbled on Chinese-locale Windows.
const utf8BOM = "\uFEFF"

// CSVFooterPrefix starts the last line of every CSV export, followed by the
// chain head (ChainHead.String): "# 链头: 42 sha256-v1:<hash>". Readers that
// want only the data can treat '#' as a comment character (encoding/csv:
// Reader.Comment = '#').
const CSVFooterPrefix = "# 链头: "

// CSVWriter writes an export as CSV: UTF-8 with a byte order mark, RFC 4180
// (comma, double-quote quoting, CRLF), Chinese headers, and a footer line
// carrying the chain head. Memory is constant: each row goes through a small
// buffer to w.
//
// Formula injection: spreadsheet programs run a cell that starts with
// = + - @ as a formula (some also after a leading tab, CR or LF). Text cells
// that start with any of those seven characters get a leading apostrophe,
// which Excel shows as text.
// Numbers stay numbers: money, integer and date columns are formatted by this
// package (e.g. "-100000.00") and are never escaped, and a text cell that is
// a plain decimal number ("-5", "+3.2") is left as it is, since a number is
// not a formula. XLSX needs none of this: its cells are typed, and text is
// never read as a formula.
//
// Nothing reaches w before the first WriteRow or Close, so a handler can
// still answer with an error page if its query fails before the first row.
// After that, rows reach w in 64 KiB blocks; if the cursor fails half-way
// the handler calls Abort, and the missing footer line marks the file as
// incomplete.
type CSVWriter struct {
	w      io.Writer
	bw     *bufio.Writer
	t      Table
	loc    *time.Location
	row    []byte // the record being assembled, reused
	header bool
	closed bool
}

// NewCSVWriter returns a CSV writer for t. It returns an *Error for a
// table with no columns or a column without a title or type.
func NewCSVWriter(w io.Writer, t Table) (*CSVWriter, error) {
	if err := t.check(); err != nil {
		return nil, err
	}
	return &CSVWriter{w: w, t: t, loc: t.location()}, nil
}

// errClosed is a programming error: a handler wrote after finishing.
var errClosed = errors.New("导出已结束，不能再写入")

func (c *CSVWriter) writeHeader() error {
	if c.header {
		return nil
	}
	c.header = true
	c.bw = bufio.NewWriterSize(c.w, 64<<10)
	c.row = AppendCSVHeader(c.row[:0], c.t)
	_, err := c.bw.Write(c.row)
	return err
}

// AppendCSVHeader appends the first line of t's CSV export to dst: the byte
// order mark and the column titles, ending in CRLF. A CSV produced outside
// CSVWriter (the journal's COPY in internal/postgres) starts with it.
func AppendCSVHeader(dst []byte, t Table) []byte {
	dst = append(dst, utf8BOM...)
	for i, col := range t.Columns {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendField(dst, escapeText(col.Title))
	}
	return append(dst, '\r', '\n')
}

// CSVFooter is the last line of a CSV export taken at head, with its CRLF.
func CSVFooter(head ChainHead) string {
	// The footer needs no quoting: no comma, quote or line break.
	return CSVFooterPrefix + head.String() + "\r\n"
}

// CSVText is text cell s exactly as CSVWriter writes it: formula-escaped,
// then quoted when it needs to be. The journal's COPY uses it for the fixed
// labels (entry kinds, account names) it prints from SQL.
func CSVText(s string) string {
	return string(appendField(nil, escapeText(s)))
}

// WriteRow writes one row (see RowWriter).
func (c *CSVWriter) WriteRow(row ...Value) error {
	if c.closed {
		return errClosed
	}
	if err := checkRow(&c.t, row); err != nil {
		return err
	}
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.row = c.row[:0]
	for i, cv := range row {
		if i > 0 {
			c.row = append(c.row, ',')
		}
		switch cv.typ {
		case 0: // empty
		case ColMoney:
			// Digits, '-' and '.': never quoted, never escaped.
			c.row = appendMoney(c.row, cv.d)
		case ColInt:
			c.row = strconv.AppendInt(c.row, cv.n, 10)
		case ColNumber:
			c.row = append(c.row, cv.d.String()...)
		case ColDate:
			c.row = appendDate(c.row, cv.t)
		case ColDateTime:
			c.row = appendDateTime(c.row, cv.t.In(c.loc))
		default:
			c.row = appendField(c.row, escapeText(cv.s))
		}
	}
	c.row = append(c.row, '\r', '\n')
	_, err := c.bw.Write(c.row)
	return err
}

// appendField appends s as one RFC 4180 field: quoted, with quotes doubled,
// when it holds a comma, a quote or a line break, or starts with a space
// (which some readers would trim).
func appendField(dst []byte, s string) []byte {
	if !needsQuotes(s) {
		return append(dst, s...)
	}
	dst = append(dst, '"')
	for {
		i := strings.IndexByte(s, '"')
		if i < 0 {
			break
		}
		dst = append(dst, s[:i+1]...)
		dst = append(dst, '"')
		s = s[i+1:]
	}
	dst = append(dst, s...)
	return append(dst, '"')
}

// needsQuotes looks for bytes, not runes: they are ASCII and never occur
// inside a multi-byte UTF-8 sequence, and strings.IndexByte is vectorised.
func needsQuotes(s string) bool {
	return s != "" && (s[0] == ' ' ||
		strings.IndexByte(s, ',') >= 0 || strings.IndexByte(s, '"') >= 0 ||
		strings.IndexByte(s, '\n') >= 0 || strings.IndexByte(s, '\r') >= 0)
}

// Close writes the header if no row was written, then the footer line
// CSVFooterPrefix + head.String(), and flushes. It does not close w.
func (c *CSVWriter) Close(head ChainHead) error {
	if c.closed {
		return errClosed
	}
	if err := c.writeHeader(); err != nil {
		return err
	}
	c.closed = true
	if _, err := c.bw.WriteString(CSVFooter(head)); err != nil {
		return err
	}
	return c.bw.Flush()
}

// Abort marks the writer closed without a footer; an export that stops
// half-way must not look complete. Rows already buffered are dropped.
func (c *CSVWriter) Abort() error {
	c.closed = true
	return nil
}

// escapeText prefixes an apostrophe to a text cell a spreadsheet would run
// as a formula; see CSVWriter.
func escapeText(s string) string {
	if s == "" {
		return s
	}
	switch s[0] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		if isPlainNumber(s) {
			return s
		}
		return "'" + s
	}
	return s
}

// isPlainNumber reports whether s is [+-]digits[.digits]: a value a
// spreadsheet reads as a number, never as a formula.
func isPlainNumber(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}
