package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/day"
	"ite/internal/ledger"
	"ite/internal/postgres"
	"ite/web/format"
	"ite/web/page"
	"ite/web/ui"
)

// indicatorRoutes: the performance indicators (绩效, DOMAIN §16) and their
// exports, linked from the dashboard.
func (s *Server) indicatorRoutes() []route {
	return []route{
		{"GET", "/dashboard/indicators", can(applications.ActionReadIndicators), s.handleIndicators},
		{"GET", "/dashboard/indicators/export/{section}", can(applications.ActionReadIndicators), s.handleIndicatorsExport},
	}
}

// icell is one cell of an indicator table: the export's typed value and
// the page's text.
type icell struct {
	v    ledger.Value
	text string
}

func cText(s string) icell { return icell{ledger.Text(s), s} }

// cEmpty is an empty cell of any column type.
var cEmpty = icell{ledger.Value{}, ""}

func cInt(n int64) icell { return icell{ledger.Int(n), strconv.FormatInt(n, 10)} }
func cMoney(d decimal.Decimal) icell {
	return icell{ledger.Money(d), format.Yuan(d)}
}
func cDate(t time.Time) icell {
	if t.IsZero() {
		return icell{ledger.Date(t), ""}
	}
	return icell{ledger.Date(t), format.Date(t)}
}

// cRatio is a ratio cell ("" when undefined: an empty text cell).
func cRatio(r string) icell {
	d, err := decimal.NewFromString(r)
	if err != nil {
		return icell{ledger.Value{}, "—"}
	}
	return icell{ledger.Number(d), r}
}

// indicatorSection is one indicator's table: the rows it sums and the
// total row.
type indicatorSection struct {
	Key, Title string
	Columns    []ledger.Column
	Rows       [][]icell
}

func tableColumns(spec ...any) []ledger.Column {
	var out []ledger.Column
	for i := 0; i < len(spec); i += 2 {
		out = append(out, ledger.Column{Title: spec[i].(string), Type: spec[i+1].(ledger.ColumnType)})
	}
	return out
}

// indicatorKindLabel names a ledger entry kind for the tables.
func indicatorKindLabel(p postgres.IndicatorPosting) string {
	l := map[string]string{"disbursement": "拨付", "exit": "退出回款", "recovery_receipt": "追回款", "write_off": "核销",
		"lapse_grant": "转无偿资助", "recovery": "转应收追回款", "conversion": "转股"}[p.Kind]
	if l == "" {
		l = p.Kind
	}
	if p.Reversal {
		l += "（冲正）"
	}
	return l
}

func postingRows(ps []postgres.IndicatorPosting, total decimal.Decimal) [][]icell {
	var rows [][]icell
	for _, p := range ps {
		rows = append(rows, []icell{cInt(p.Seq), cDate(p.ValueDate), cText(indicatorKindLabel(p)), cText(p.Programme),
			cInt(p.ApplicationID), cText(p.Title), cMoney(p.Amount)})
	}
	return append(rows, []icell{cEmpty, cEmpty, cText("合计"), cText(""), cEmpty, cText(""), cMoney(total)})
}

var postingColumns = []any{"凭证号", ledger.ColInt, "记账日期", ledger.ColDate, "类型", ledger.ColText, "申报批次", ledger.ColText,
	"项目编号", ledger.ColInt, "项目", ledger.ColText, "金额", ledger.ColMoney}

// indicatorSections builds every indicator's table from d, the summary
// first; the page and the exports show the same rows.
func indicatorSections(d postgres.Indicators) []indicatorSection {
	t := d.Totals
	summary := indicatorSection{Key: "summary", Title: "指标汇总", Columns: tableColumns("指标", ledger.ColText, "数值", ledger.ColNumber, "单位", ledger.ColText, "依据", ledger.ColText)}
	num := func(label string, v decimal.Decimal, unit, basis string) []icell {
		text := v.String()
		if unit == "元" {
			text = format.Yuan(v)
		}
		return []icell{cText(label), {ledger.Number(v), text}, cText(unit), cText(basis)}
	}
	ratio := func(label, r, basis string) []icell {
		return []icell{cText(label), cRatio(r), cText("倍"), cText(basis)}
	}
	n := func(i int) decimal.Decimal { return decimal.NewFromInt(int64(i)) }
	summary.Rows = [][]icell{
		num("拨付资金", d.Disbursed, "元", "借 1221（拨付凭证，扣除冲正）"),
		num("撬动社会资本", d.SocialCapital, "元", "已拨付项目经核实的融资新增投资额"),
		ratio("社会资本放大倍数", d.Multiple, "撬动社会资本 ÷ 拨付资金"),
		num("已拨付项目数（截至期末）", n(d.Funded), "个", "借 1221 拨付净额大于 0 的项目"),
		num("已转股项目数（截至期末）", n(d.Converted), "个", "借 1511 转股凭证"),
		ratio("转股率", d.ConversionRate, "已转股项目数 ÷ 已拨付项目数"),
		num("回收资金", d.Recycled, "元", "借 1002（退出回款与追回款凭证）"),
		num("其中：退出回款", d.ExitProceeds, "元", "借 1002（退出凭证）"),
		num("其中：追回款", d.RecoveredMoney, "元", "借 1002（追回收款凭证）"),
		ratio("回收资金 ÷ 拨付资金", d.RecycledShare, "回收资金 ÷ 拨付资金"),
		num("营业收入", t.Revenue, "元", "各项目期内最近一期已通过的进展报告"),
		num("研发投入", t.RDSpend, "元", "同上"),
		num("从业人数", n(t.Headcount), "人", "同上"),
		num("其中研发人员", n(t.RDStaff), "人", "同上"),
		num("授权专利", n(t.Patents), "件", "同上"),
		num("软件著作权", n(t.Copyrights), "件", "同上"),
		num("新增融资（企业报告）", t.NewFinancing, "元", "同上"),
		num("损失（借 6711，截至期末）", d.LossDebits, "元", "借 6711（退出亏损与核销）"),
		num("累计拨付（借 1221，截至期末）", d.InvestedDebit, "元", "借 1221"),
		ratio("亏损率", d.LossRatio, "借 6711 ÷ 借 1221"),
	}
	disbursed := indicatorSection{Key: "disbursed", Title: "拨付资金", Columns: tableColumns(postingColumns...),
		Rows: postingRows(d.Disbursements, d.Disbursed)}
	social := indicatorSection{Key: "social", Title: "撬动社会资本", Columns: tableColumns("事件编号", ledger.ColInt, "融资日期", ledger.ColDate,
		"申报批次", ledger.ColText, "项目编号", ledger.ColInt, "项目", ledger.ColText, "投资方", ledger.ColText, "新增投资额", ledger.ColMoney)}
	for _, x := range d.Rounds {
		social.Rows = append(social.Rows, []icell{cInt(x.EventID), cDate(x.Date), cText(x.Programme), cInt(x.ApplicationID),
			cText(x.Title), cText(x.Investors), cMoney(x.NewMoney)})
	}
	social.Rows = append(social.Rows, []icell{cEmpty, cEmpty, cText("合计"), cEmpty, cText(""), cText(""), cMoney(d.SocialCapital)})
	conv := indicatorSection{Key: "conversion", Title: "转股", Columns: tableColumns("项目编号", ledger.ColInt, "项目", ledger.ColText,
		"申报批次", ledger.ColText, "首笔拨付日", ledger.ColDate, "累计拨付", ledger.ColMoney, "转股日", ledger.ColDate, "已转股", ledger.ColInt)}
	sum := decimal.Zero
	for _, x := range d.Projects {
		c := int64(0)
		if !x.ConvertedOn.IsZero() {
			c = 1
		}
		sum = sum.Add(x.Disbursed)
		conv.Rows = append(conv.Rows, []icell{cInt(x.ApplicationID), cText(x.Title), cText(x.Programme), cDate(x.FirstDisbursed),
			cMoney(x.Disbursed), cDate(x.ConvertedOn), cInt(c)})
	}
	conv.Rows = append(conv.Rows, []icell{cEmpty, cText(fmt.Sprintf("合计（%d 个项目）", d.Funded)), cText(""), cEmpty,
		cMoney(sum), cEmpty, cInt(int64(d.Converted))})
	recycled := indicatorSection{Key: "recycled", Title: "回收资金", Columns: tableColumns(postingColumns...),
		Rows: postingRows(d.Recycling, d.Recycled)}
	ent := indicatorSection{Key: "enterprises", Title: "企业绩效", Columns: tableColumns("报告编号", ledger.ColInt, "项目编号", ledger.ColInt,
		"项目", ledger.ColText, "企业", ledger.ColText, "申报批次", ledger.ColText, "报告期起", ledger.ColDate, "报告期止", ledger.ColDate,
		"营业收入", ledger.ColMoney, "研发投入", ledger.ColMoney, "从业人数", ledger.ColInt, "研发人员", ledger.ColInt,
		"授权专利", ledger.ColInt, "软件著作权", ledger.ColInt, "新增融资", ledger.ColMoney)}
	figs := func(g applications.ReportFigures) []icell {
		return []icell{cMoney(g.Revenue), cMoney(g.RDSpend), cInt(int64(g.Headcount)), cInt(int64(g.RDStaff)),
			cInt(int64(g.Patents)), cInt(int64(g.Copyrights)), cMoney(g.NewFinancing)}
	}
	for _, x := range d.Enterprises {
		ent.Rows = append(ent.Rows, append([]icell{cInt(x.ReportID), cInt(x.ApplicationID), cText(x.Title), cText(x.Enterprise),
			cText(x.Programme), cDate(x.PeriodStart), cDate(x.PeriodEnd)}, figs(x.Figures)...))
	}
	ent.Rows = append(ent.Rows, append([]icell{cEmpty, cEmpty, cText("合计"), cText(""), cText(""), cEmpty, cEmpty}, figs(t)...))
	losses := indicatorSection{Key: "losses", Title: "亏损率", Columns: tableColumns(postingColumns...),
		Rows: postingRows(d.Losses, d.LossDebits)}
	return []indicatorSection{summary, disbursed, social, conv, recycled, ent, losses}
}

// indicatorFilter reads ?programme= and ?year= (a calendar year; empty:
// all years to date).
func indicatorFilter(q url.Values) (postgres.IndicatorFilter, error) {
	f, err := dashboardFilter(q)
	return postgres.IndicatorFilter{ProgrammeID: f.ProgrammeID, Year: f.Year}, err
}

// loadIndicators computes the indicators of the request's filter.
func (s *Server) loadIndicators(r *http.Request) (postgres.IndicatorFilter, postgres.Indicators, error) {
	f, err := indicatorFilter(r.URL.Query())
	if err != nil {
		return f, postgres.Indicators{}, err
	}
	d, err := s.DB.Indicators(r.Context(), f)
	return f, d, err
}

// handleIndicators is the indicators page
// (GET /dashboard/indicators?programme=&year=).
func (s *Server) handleIndicators(w http.ResponseWriter, r *http.Request) error {
	f, d, err := s.loadIndicators(r)
	if err != nil {
		return err
	}
	v := page.IndicatorsView{Query: url.Values{}}
	if f.Year != 0 {
		v.Year = strconv.Itoa(f.Year)
		v.Query.Set("year", v.Year)
	}
	if f.ProgrammeID != 0 {
		v.Programme = strconv.FormatInt(f.ProgrammeID, 10)
		v.Query.Set("programme", v.Programme)
	}
	v.Years = []ui.Option{{Value: "", Label: "全部年度（截至今日）"}}
	for y := day.Today(s.Now()).Year(); y >= 2020; y-- {
		v.Years = append(v.Years, ui.Option{Value: strconv.Itoa(y), Label: strconv.Itoa(y) + " 年"})
	}
	if v.Programmes, err = s.programmeFilterOptions(r); err != nil {
		return err
	}
	for _, sec := range indicatorSections(d) {
		t := page.IndicatorTable{Key: sec.Key, Title: sec.Title}
		for _, c := range sec.Columns {
			t.Head = append(t.Head, c.Title)
			t.Num = append(t.Num, c.Type == ledger.ColMoney || c.Type == ledger.ColInt || c.Type == ledger.ColNumber)
		}
		for _, row := range sec.Rows {
			var cells []string
			for _, c := range row {
				cells = append(cells, c.text)
			}
			t.Rows = append(t.Rows, cells)
		}
		v.Tables = append(v.Tables, t)
	}
	return s.render(w, r, http.StatusOK, page.Indicators(v))
}

// handleIndicatorsExport exports one indicator's table
// (GET /dashboard/indicators/export/{section}?programme=&year=&format=csv|xlsx).
func (s *Server) handleIndicatorsExport(w http.ResponseWriter, r *http.Request) error {
	_, d, err := s.loadIndicators(r)
	if err != nil {
		return err
	}
	key := chi.URLParam(r, "section")
	for _, sec := range indicatorSections(d) {
		if sec.Key != key {
			continue
		}
		t := ledger.Table{Name: sec.Title, Columns: sec.Columns}
		return s.export(w, r, "indicators_"+key, "绩效指标_"+sec.Title, t, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
			for _, row := range sec.Rows {
				vals := make([]ledger.Value, len(row))
				for i, c := range row {
					vals[i] = c.v
				}
				if err := rw.WriteRow(vals...); err != nil {
					return ledger.ChainHead{}, err
				}
				*n++
			}
			return s.DB.LedgerHead(r.Context())
		})
	}
	return applications.Errorf(applications.NotFound, "没有这个绩效指标。")
}
