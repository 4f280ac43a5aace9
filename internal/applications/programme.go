package applications

import (
	"encoding/json"
	"fmt"
	"ite/internal/day"
	"slices"
	"strings"
	"time"

	"github.com/shopspring/decimal"
)

// ProgrammeStatus is draft → open → closed.
type ProgrammeStatus string

// Programme statuses.
const (
	ProgrammeDraft  ProgrammeStatus = "draft"
	ProgrammeOpen   ProgrammeStatus = "open"
	ProgrammeClosed ProgrammeStatus = "closed"
)

// Label is the Chinese name.
func (s ProgrammeStatus) Label() string {
	return map[ProgrammeStatus]string{ProgrammeDraft: "草稿", ProgrammeOpen: "申报中", ProgrammeClosed: "已截止"}[s]
}

// Criterion is one review criterion with its weight (maximum score).
type Criterion struct {
	Code   string          `json:"code"`
	Name   string          `json:"name"`
	Weight decimal.Decimal `json:"weight"`
}

// DefaultCriteria are DOMAIN §3's: 30/20/20/20/10, total 100.
func DefaultCriteria() []Criterion {
	return []Criterion{
		{"technology", "技术先进性与知识产权", decimal.NewFromInt(30)},
		{"team", "团队能力", decimal.NewFromInt(20)},
		{"market", "市场前景与产业化路径", decimal.NewFromInt(20)},
		{"plan", "实施计划与预算", decimal.NewFromInt(20)},
		{"local_fit", "与本地产业契合度", decimal.NewFromInt(10)},
	}
}

// DefaultProjectCap is 10,000,000.00 yuan (1000万元), "in principle".
var DefaultProjectCap = decimal.RequireFromString("10000000.00")

// Programme is one call for applications (申报批次) with its settings.
type Programme struct {
	ID                     int64
	Name                   string
	Year                   int
	Status                 ProgrammeStatus
	OpensOn                time.Time // a date (UTC midnight)
	ClosesOn               time.Time // inclusive
	TotalBudget            decimal.Decimal
	ProjectCap             decimal.Decimal
	CapOverrideAllowed     bool
	Sectors                []Sector
	RequiredMaterials      []Material
	CreditReportMaxAgeDays int
	PanelSize              int
	Criteria               []Criterion
	PassScore              decimal.Decimal
	Aggregation            string // trimmed_mean | mean
	NoticeWorkingDays      int
	TermsTemplate          json.RawMessage
	HoldingPlatform        string
	HoldingPlatformUSCC    string // the platform's 统一社会信用代码: its trustees see the programme's holdings; "" none
	RequiresSpecialAudit   bool   // an acceptance needs the special audit report (专项审计报告, DOMAIN §16)
	Version                int
	CreatedAt              time.Time
	UpdatedAt              time.Time
}

// The default holding platform (the demo's; its code is an example that
// passes the check, not a real one).
var (
	DefaultHoldingPlatform     = "呼和浩特经济技术开发区国有资本投资运营有限公司"
	DefaultHoldingPlatformUSCC = ExampleUSCC(90_000_018)
)

// NewProgramme returns a programme with every default of DOMAIN §3.
func NewProgramme(year int, today time.Time) Programme {
	return Programme{
		Year: year, Status: ProgrammeDraft,
		OpensOn: day.Date(today), ClosesOn: day.Date(today).AddDate(0, 2, 0),
		ProjectCap: DefaultProjectCap, CapOverrideAllowed: true,
		Sectors: AllSectors(), RequiredMaterials: slices.Clone(DefaultRequiredMaterials),
		CreditReportMaxAgeDays: 90, PanelSize: 5, Criteria: DefaultCriteria(),
		PassScore: decimal.NewFromInt(70), Aggregation: "trimmed_mean", NoticeWorkingDays: 5,
		TermsTemplate:   DefaultTermsTemplate(),
		HoldingPlatform: DefaultHoldingPlatform, HoldingPlatformUSCC: DefaultHoldingPlatformUSCC,
	}
}

// Validate checks every setting and returns the first problem as a field
// error with a Chinese message.
func (p Programme) Validate() error {
	switch {
	case strings.TrimSpace(p.Name) == "":
		return FieldError("name", "请填写批次名称。")
	case p.Year < 2000 || p.Year > 2100:
		return FieldError("year", "年度应为 2000–2100 之间的四位年份。")
	case p.Status != ProgrammeDraft && p.Status != ProgrammeOpen && p.Status != ProgrammeClosed:
		return FieldError("status", "请选择有效的状态。")
	case p.OpensOn.IsZero() || p.ClosesOn.IsZero():
		return FieldError("opens_on", "请填写申报开始和截止日期。")
	case p.ClosesOn.Before(p.OpensOn):
		return FieldError("closes_on", "截止日期不能早于开始日期。")
	case !p.TotalBudget.IsPositive():
		return FieldError("total_budget", "专项资金总额必须大于 0。")
	case !p.ProjectCap.IsPositive():
		return FieldError("project_cap", "单个项目支持上限必须大于 0。")
	case p.ProjectCap.GreaterThan(p.TotalBudget):
		return FieldError("project_cap", "单个项目支持上限不能超过专项资金总额。")
	case len(p.Sectors) == 0:
		return FieldError("sectors", "请至少选择一个支持领域。")
	case len(p.RequiredMaterials) == 0:
		return FieldError("required_materials", "请至少选择一项必需材料。")
	case p.CreditReportMaxAgeDays < 1 || p.CreditReportMaxAgeDays > 365:
		return FieldError("credit_report_max_age_days", "征信报告有效期应为 1–365 天。")
	case p.PanelSize < 1 || p.PanelSize > 15:
		return FieldError("panel_size", "评审专家人数应为 1–15 人。")
	case p.NoticeWorkingDays < 1 || p.NoticeWorkingDays > 30:
		return FieldError("notice_working_days", "公示期应为 1–30 个工作日。")
	case p.Aggregation != "trimmed_mean" && p.Aggregation != "mean":
		return FieldError("aggregation", "请选择有效的汇总方式。")
	case strings.TrimSpace(p.HoldingPlatform) == "":
		return FieldError("holding_platform", "请填写受托管理机构名称。")
	case p.HoldingPlatformUSCC != "" && ValidateUSCC(p.HoldingPlatformUSCC) != nil:
		return FieldError("holding_platform_uscc", "受托管理机构的统一社会信用代码无效：应为 18 位，请核对后重新填写。")
	}
	for _, s := range p.Sectors {
		if !s.Valid() {
			return FieldError("sectors", "支持领域无效。")
		}
	}
	for _, m := range p.RequiredMaterials {
		if !m.Valid() {
			return FieldError("required_materials", "必需材料无效。")
		}
	}
	total := decimal.Zero
	for _, c := range p.Criteria {
		if strings.TrimSpace(c.Name) == "" || !c.Weight.IsPositive() {
			return FieldError("criteria", "每项评审标准都须有名称和大于 0 的分值。")
		}
		total = total.Add(c.Weight)
	}
	if len(p.Criteria) == 0 || !total.Equal(decimal.NewFromInt(100)) {
		return FieldError("criteria", fmt.Sprintf("评审标准分值合计须为 100（当前 %s）。", total.String()))
	}
	if p.PassScore.IsNegative() || p.PassScore.GreaterThan(decimal.NewFromInt(100)) {
		return FieldError("pass_score", "通过分数应在 0–100 之间。")
	}
	if err := ValidateTermsTemplate(p.TermsTemplate); err != nil {
		return err
	}
	return nil
}

// AcceptsApplications says whether an enterprise may create or submit an
// application in this programme on the given day (China time date).
func (p Programme) AcceptsApplications(today time.Time) error {
	d := day.Date(today)
	switch {
	case p.Status != ProgrammeOpen:
		return Errorf(Conflict, "申报批次「%s」当前%s，暂不接受申报。", p.Name, p.Status.Label())
	case d.Before(p.OpensOn):
		return Errorf(Conflict, "申报批次「%s」将于 %s 开始接受申报。", p.Name, p.OpensOn.Format("2006-01-02"))
	case d.After(p.ClosesOn):
		return Errorf(Conflict, "申报批次「%s」已于 %s 截止。", p.Name, p.ClosesOn.Format("2006-01-02"))
	}
	return nil
}

// Requires reports whether m is a required material of the programme.
func (p Programme) Requires(m Material) bool { return slices.Contains(p.RequiredMaterials, m) }

// Checklist is the programme's required materials followed by the
// optional ones, in a stable order.
func (p Programme) Checklist() []Material {
	var out []Material
	for _, m := range AllMaterials() {
		if p.Requires(m) || slices.Contains(OptionalMaterials, m) {
			out = append(out, m)
		}
	}
	return out
}
