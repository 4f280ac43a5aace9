// Package chart draws the dashboard's charts as inline SVG on the server:
// a horizontal bar chart (one or more series per row) and a funnel. No
// JavaScript, no style attributes (the CSP has no 'unsafe-inline'): colours
// and sizes are SVG presentation attributes, and each chart carries a
// <title> and <desc> for screen readers, next to the data table the page
// prints beside it.
//
// Values are decimals (money stays exact); they become float pixel widths
// only at the very end, after a rounded division by the chart's maximum.
package chart

import (
	"fmt"
	"html"
	"strings"

	"github.com/shopspring/decimal"
)

// Palette is the fill of series 0, 1, 2, ... (repeated).
var Palette = []string{"#1f5fa8", "#e08a1e", "#2e8b57", "#8e44ad", "#c0392b"}

// Geometry of both charts, in SVG user units (the SVG scales to its box).
const (
	width     = 720
	labelW    = 170 // label column
	barArea   = 400 // longest bar
	valueGap  = 6
	barH      = 16
	barGap    = 3
	groupGap  = 12
	legendH   = 24
	topPad    = 8
	fontSize  = 12
	funnelH   = 24
	funnelGap = 4
)

// Row is one labelled group of bars, one value per series; Notes are the
// texts printed after each bar (formatted amounts or counts).
type Row struct {
	Label  string
	Values []decimal.Decimal
	Notes  []string
}

// Bars is a horizontal bar chart.
type Bars struct {
	ID     string   // unique in the page; prefixes the title and desc ids
	Title  string   // short name, read first by screen readers
	Desc   string   // one sentence saying what is shown
	Series []string // series names (a legend is drawn when there are two or more)
	Rows   []Row
}

// Step is one stage of a funnel.
type Step struct {
	Label string
	Value decimal.Decimal
	Note  string
}

// Funnel is a centred funnel: one bar per stage, in the order given.
type Funnel struct {
	ID    string
	Title string
	Desc  string
	Steps []Step
}

func esc(s string) string { return html.EscapeString(s) }

// scale returns the pixel length of v against max over full, rounded to
// 0.1; a positive value never disappears (at least 1 unit), negative
// values draw nothing.
func scale(v, max decimal.Decimal, full int64) float64 {
	if v.Sign() <= 0 || max.Sign() <= 0 {
		return 0
	}
	px := v.Mul(decimal.NewFromInt(full)).DivRound(max, 1)
	if px.LessThan(decimal.NewFromInt(1)) {
		return 1
	}
	return px.InexactFloat64()
}

func open(b *strings.Builder, id, title, desc string, height int) {
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="%s" role="img" viewBox="0 0 %d %d" width="100%%" preserveAspectRatio="xMinYMin meet" aria-labelledby="%s-title %s-desc" font-size="%d">`,
		esc(id), width, height, esc(id), esc(id), fontSize)
	fmt.Fprintf(b, `<title id="%s-title">%s</title><desc id="%s-desc">%s</desc>`, esc(id), esc(title), esc(id), esc(desc))
}

// SVG renders the bar chart.
func (c Bars) SVG() string {
	n := len(c.Series)
	if n == 0 {
		n = 1
	}
	max := decimal.Zero
	for _, r := range c.Rows {
		for _, v := range r.Values {
			if v.GreaterThan(max) {
				max = v
			}
		}
	}
	top := topPad
	if len(c.Series) > 1 {
		top += legendH
	}
	groupH := n*barH + (n-1)*barGap
	height := top + len(c.Rows)*(groupH+groupGap) + topPad
	if len(c.Rows) == 0 {
		height = top + 30
	}
	var b strings.Builder
	open(&b, c.ID, c.Title, c.Desc, height)
	if len(c.Series) > 1 {
		x := labelW
		for i, s := range c.Series {
			fmt.Fprintf(&b, `<rect class="legend" x="%d" y="%d" width="12" height="12" fill="%s"/>`, x, topPad, Palette[i%len(Palette)])
			fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, x+16, topPad+11, esc(s))
			x += 28 + 14*len([]rune(s))
		}
	}
	if len(c.Rows) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#666">暂无数据</text>`, labelW, top+18)
	}
	y := top
	for _, r := range c.Rows {
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+groupH/2+4, esc(r.Label))
		for i := 0; i < n; i++ {
			var v decimal.Decimal
			if i < len(r.Values) {
				v = r.Values[i]
			}
			w := scale(v, max, barArea)
			by := y + i*(barH+barGap)
			series := ""
			if i < len(c.Series) {
				series = c.Series[i]
			}
			note := ""
			if i < len(r.Notes) {
				note = r.Notes[i]
			}
			fmt.Fprintf(&b, `<rect class="bar" x="%d" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`,
				labelW, by, w, barH, Palette[i%len(Palette)], esc(strings.TrimSpace(r.Label+" "+series+" "+note)))
			if note != "" {
				fmt.Fprintf(&b, `<text x="%.1f" y="%d">%s</text>`, float64(labelW)+w+valueGap, by+barH-4, esc(note))
			}
		}
		y += groupH + groupGap
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// SVG renders the funnel.
func (c Funnel) SVG() string {
	max := decimal.Zero
	for _, s := range c.Steps {
		if s.Value.GreaterThan(max) {
			max = s.Value
		}
	}
	height := 2*topPad + len(c.Steps)*(funnelH+funnelGap)
	if len(c.Steps) == 0 {
		height = 2*topPad + 30
	}
	var b strings.Builder
	open(&b, c.ID, c.Title, c.Desc, height)
	if len(c.Steps) == 0 {
		fmt.Fprintf(&b, `<text x="%d" y="%d" fill="#666">暂无数据</text>`, labelW, topPad+18)
	}
	mid := float64(labelW) + barArea/2
	y := topPad
	for i, s := range c.Steps {
		w := scale(s.Value, max, barArea)
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%s</text>`, labelW-8, y+funnelH/2+4, esc(s.Label))
		fmt.Fprintf(&b, `<rect class="bar" x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"><title>%s</title></rect>`,
			mid-w/2, y, w, funnelH, Palette[i%2], esc(s.Label+" "+s.Note))
		fmt.Fprintf(&b, `<text x="%d" y="%d">%s</text>`, labelW+barArea+valueGap*2, y+funnelH/2+4, esc(s.Note))
		y += funnelH + funnelGap
	}
	b.WriteString(`</svg>`)
	return b.String()
}
