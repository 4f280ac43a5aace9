package ui

import (
	"bytes"
	"context"
	"testing"

	"github.com/a-h/templ"
)

// TestTextEscapesLikeTempl: @ui.Text(s) writes exactly what templ's { s }
// writes, for markup, quotes, Chinese and invalid UTF-8 alike.
func TestTextEscapesLikeTempl(t *testing.T) {
	for _, s := range []string{"", "储能材料中试", `<script>alert("x")</script>`, "a&b", "'单引号'", "\xff\xfe<", "&amp;"} {
		check(t, s)
	}
}

func FuzzTextEscapesLikeTempl(f *testing.F) {
	f.Add(`<a href="x">'&'</a>`)
	f.Fuzz(check)
}

func check(t *testing.T, s string) {
	var b bytes.Buffer
	if err := Text(s).Render(context.Background(), &b); err != nil {
		t.Fatal(err)
	}
	if want := templ.EscapeString(s); b.String() != want {
		t.Fatalf("Text(%q) wrote %q, templ writes %q", s, b.String(), want)
	}
}
