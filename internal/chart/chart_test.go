package chart

import (
	"encoding/xml"
	"strconv"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
)

type svgDoc struct {
	XMLName xml.Name `xml:"svg"`
	Role    string   `xml:"role,attr"`
	Labels  string   `xml:"aria-labelledby,attr"`
	Title   string   `xml:"title"`
	Desc    string   `xml:"desc"`
	Rects   []struct {
		Class string `xml:"class,attr"`
		X     string `xml:"x,attr"`
		Width string `xml:"width,attr"`
		Fill  string `xml:"fill,attr"`
	} `xml:"rect"`
	Texts []string `xml:"text"`
}

func parse(t *testing.T, s string) svgDoc {
	t.Helper()
	var d svgDoc
	if err := xml.Unmarshal([]byte(s), &d); err != nil {
		t.Fatalf("not well-formed SVG: %v\n%s", err, s)
	}
	if strings.Contains(s, "style=") || strings.Contains(s, "<script") {
		t.Fatal("chart needs 'unsafe-inline'")
	}
	return d
}

func widths(d svgDoc) []float64 {
	var out []float64
	for _, r := range d.Rects {
		if r.Class == "bar" {
			w, _ := strconv.ParseFloat(r.Width, 64)
			out = append(out, w)
		}
	}
	return out
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestBarsScaleToTheLargestValue(t *testing.T) {
	c := Bars{ID: "b", Title: "预算 <批次>", Desc: "各批次预算", Series: []string{"已承诺", "已拨付"},
		Rows: []Row{
			{Label: "2024 批次 & 专项", Values: []decimal.Decimal{dec("3000000.00"), dec("1500000.00")}, Notes: []string{"300.00 万元", "150.00 万元"}},
			{Label: "2025", Values: []decimal.Decimal{dec("0"), dec("0.01")}},
		}}
	d := parse(t, c.SVG())
	if d.Role != "img" || d.Title != "预算 <批次>" || d.Desc != "各批次预算" || d.Labels != "b-title b-desc" {
		t.Fatalf("accessibility: %+v", d)
	}
	got := widths(d)
	want := []float64{barArea, barArea / 2, 0, 1} // a tiny positive value stays visible
	if len(got) != len(want) {
		t.Fatalf("bars %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("bar %d width %v, want %v", i, got[i], want[i])
		}
	}
	joined := strings.Join(d.Texts, "|")
	for _, s := range []string{"已承诺", "已拨付", "2024 批次 & 专项", "300.00 万元"} {
		if !strings.Contains(joined, s) {
			t.Errorf("text %q missing in %s", s, joined)
		}
	}
}

func TestBarsEmptyAndNegative(t *testing.T) {
	d := parse(t, Bars{ID: "e", Title: "空", Desc: "无"}.SVG())
	if len(widths(d)) != 0 || !strings.Contains(strings.Join(d.Texts, ""), "暂无数据") {
		t.Fatalf("empty chart: %+v", d)
	}
	d = parse(t, Bars{ID: "n", Title: "负", Desc: "负值", Rows: []Row{{Label: "亏损", Values: []decimal.Decimal{dec("-5")}}}}.SVG())
	if w := widths(d); len(w) != 1 || w[0] != 0 {
		t.Fatalf("negative value drew %v", w)
	}
}

func TestFunnelIsCentred(t *testing.T) {
	c := Funnel{ID: "f", Title: "流程", Desc: "各状态项目数", Steps: []Step{
		{Label: "待形式审查", Value: decimal.NewFromInt(4), Note: "4"},
		{Label: "专家评审中", Value: decimal.NewFromInt(2), Note: "2"},
		{Label: "已退出", Value: decimal.NewFromInt(1), Note: "1"},
	}}
	d := parse(t, c.SVG())
	got := widths(d)
	if len(got) != 3 || got[0] != barArea || got[1] != barArea/2 || got[2] != barArea/4 {
		t.Fatalf("widths %v", got)
	}
	for _, r := range d.Rects {
		x, _ := strconv.ParseFloat(r.X, 64)
		w, _ := strconv.ParseFloat(r.Width, 64)
		if mid := x + w/2; mid != labelW+barArea/2 {
			t.Errorf("bar not centred: x %v w %v", x, w)
		}
	}
}
