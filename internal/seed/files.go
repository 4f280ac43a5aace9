package seed

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math/rand/v2"
	"strings"
)

// syntheticPDF returns a small, well-formed one-page PDF (catalog, page
// tree, a Helvetica text stream, a correct xref table) showing lines of
// ASCII text: a few hundred bytes that every PDF reader opens and that
// blob.Sniff recognises by content.
func syntheticPDF(lines []string) []byte {
	var b bytes.Buffer
	b.WriteString("%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
	var offsets []int
	obj := func(body string) {
		offsets = append(offsets, b.Len())
		fmt.Fprintf(&b, "%d 0 obj\n%s\nendobj\n", len(offsets), body)
	}
	var text strings.Builder
	text.WriteString("BT /F1 11 Tf 16 TL 56 786 Td")
	for _, l := range lines {
		fmt.Fprintf(&text, " (%s) '", pdfEscape(l))
	}
	text.WriteString(" ET")
	obj("<< /Type /Catalog /Pages 2 0 R >>")
	obj("<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
	obj("<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>")
	obj("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
	obj(fmt.Sprintf("<< /Length %d >>\nstream\n%s\nendstream", text.Len(), text.String()))
	xref := b.Len()
	fmt.Fprintf(&b, "xref\n0 %d\n0000000000 65535 f \n", len(offsets)+1)
	for _, o := range offsets {
		fmt.Fprintf(&b, "%010d 00000 n \n", o)
	}
	fmt.Fprintf(&b, "trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n", len(offsets)+1, xref)
	return b.Bytes()
}

// pdfEscape makes s safe inside a PDF literal string, dropping anything
// outside printable ASCII (Helvetica has no CJK glyphs).
func pdfEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '(' || r == ')' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r >= 0x20 && r < 0x7f:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// syntheticPNG draws a small card-like picture (a photo box and lines of
// "text" of random lengths), as a scanned ID card would look from afar,
// and encodes it as a paletted PNG of a few hundred bytes. Each call gives
// a different picture.
func syntheticPNG(rng *rand.Rand) []byte {
	const w, h = 120, 76
	tint := uint8(200 + rng.IntN(40))
	pal := color.Palette{
		color.RGBA{tint, 230, 240, 255},                                                   // card
		color.RGBA{40, 50, 70, 255},                                                       // text
		color.RGBA{uint8(120 + rng.IntN(80)), uint8(90 + rng.IntN(60)), 90, 255},          // photo
		color.RGBA{uint8(150 + rng.IntN(100)), uint8(40 + rng.IntN(60)), 40, 255},         // seal
		color.RGBA{uint8(rng.IntN(256)), uint8(rng.IntN(256)), uint8(rng.IntN(256)), 255}, // stripe
	}
	img := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	fill := func(x0, y0, x1, y1 int, c uint8) {
		for y := max(0, y0); y < min(h, y1); y++ {
			for x := max(0, x0); x < min(w, x1); x++ {
				img.SetColorIndex(x, y, c)
			}
		}
	}
	fill(0, 0, w, 6, 4)
	fill(84, 14, 112, 50, 2)
	for row := range 6 {
		y := 14 + row*9
		fill(8, y, 8+20+rng.IntN(50), y+3, 1)
	}
	fill(8, 68, 8+30+rng.IntN(70), 71, 1)
	sx, sy := 60+rng.IntN(20), 40+rng.IntN(20)
	fill(sx, sy, sx+10, sy+10, 3)
	var b bytes.Buffer
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&b, img); err != nil {
		panic(err) // encoding to a bytes.Buffer cannot fail
	}
	return b.Bytes()
}
