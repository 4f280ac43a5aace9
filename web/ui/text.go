package ui

import (
	"context"
	"io"
)

// Text is a string written into a page HTML-escaped, as templ's { s } does
// but without its copies: templ passes every { s } through fmt.Sprint and
// then an escaper that allocates, a tenth of the CPU of the queue and the
// journal pages (docs/PERFORMANCE.md, session 6). The rows of those pages'
// tables write their cells with @ui.Text(s); elsewhere { s } stays.
type Text string

// Render writes t with the five characters html.EscapeString escapes
// replaced by the same entities (TestTextEscapesLikeTempl).
func (t Text) Render(_ context.Context, w io.Writer) error {
	s := string(t)
	last := 0
	for i := 0; i < len(s); i++ {
		var entity string
		switch s[i] {
		case '&':
			entity = "&amp;"
		case '<':
			entity = "&lt;"
		case '>':
			entity = "&gt;"
		case '"':
			entity = "&#34;"
		case '\'':
			entity = "&#39;"
		default:
			continue
		}
		if _, err := io.WriteString(w, s[last:i]); err != nil {
			return err
		}
		if _, err := io.WriteString(w, entity); err != nil {
			return err
		}
		last = i + 1
	}
	_, err := io.WriteString(w, s[last:])
	return err
}
