package applications

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
)

// Content is the structured body of an application.
type Content struct {
	Summary    string       `json:"summary"`
	Technology string       `json:"technology"`
	Team       string       `json:"team"`
	Market     string       `json:"market"`
	Budget     []BudgetLine `json:"budget"`
	Milestones []Milestone  `json:"milestones"`
}

// BudgetLine is one line of the budget breakdown.
type BudgetLine struct {
	Item   string          `json:"item"`
	Amount decimal.Decimal `json:"amount"`
}

// Milestone is a planned date and what will be done by then.
type Milestone struct {
	Date        string `json:"date"` // YYYY-MM-DD
	Description string `json:"description"`
}

// Application is one project application and where it stands.
type Application struct {
	ID              int64
	ProgrammeID     int64
	Programme       string // programme name, for lists
	EnterpriseID    int64
	Enterprise      string
	EnterpriseUSCC  string
	Title           string
	Sector          Sector
	RequestedAmount decimal.Decimal
	Content         Content
	LeadName        string
	LeadMobile      string
	State           State
	LiaisonID       int64
	Liaison         string
	PrecheckAsked   time.Time // zero when no pre-check is pending
	Version         int
	ApprovedAmount  decimal.NullDecimal // set when the funding decision is approved
	NoticeStartsOn  time.Time           // 公示 period, zero before approval
	NoticeEndsOn    time.Time
	NoticeClosedAt  time.Time // the notice ended with no open objection: ready to sign
	StateChangedAt  time.Time
	SubmittedAt     time.Time
	CreatedAt       time.Time
	UpdatedAt       time.Time
}

// Limits on free text, so a page stays a page.
const (
	maxTitle   = 100
	maxSection = 5000
)

// ValidateDraft checks what an enterprise typed against the programme:
// every field present, the amount at most the programme's cap with at
// most two decimals, and the budget lines summing exactly to the amount.
func (a Application) ValidateDraft(p Programme) error {
	switch {
	case strings.TrimSpace(a.Title) == "":
		return FieldError("title", "请填写项目名称。")
	case utf8.RuneCountInString(a.Title) > maxTitle:
		return FieldError("title", fmt.Sprintf("项目名称不超过 %d 个字。", maxTitle))
	case !a.Sector.Valid():
		return FieldError("sector", "请选择项目所属领域。")
	case !containsSector(p.Sectors, a.Sector):
		return FieldError("sector", "本批次不支持该领域，请选择批次支持的领域。")
	case !a.RequestedAmount.IsPositive():
		return FieldError("requested_amount", "申请金额必须大于 0。")
	case !a.RequestedAmount.Equal(a.RequestedAmount.Truncate(2)):
		return FieldError("requested_amount", "金额最多保留两位小数（精确到分）。")
	case a.RequestedAmount.GreaterThan(p.ProjectCap):
		return FieldError("requested_amount", fmt.Sprintf("申请金额不能超过本批次单个项目上限 %s 元（%s万元）。",
			conversion.FormatMoney(p.ProjectCap), p.ProjectCap.Shift(-4).String()))
	case strings.TrimSpace(a.LeadName) == "":
		return FieldError("lead_name", "请填写项目负责人姓名。")
	}
	if err := ValidateMobile(a.LeadMobile); err != nil {
		return &Error{Kind: Invalid, Field: "lead_mobile", Message: ErrorMessage(err)}
	}
	sections := []struct{ field, label, text string }{
		{"summary", "项目概述", a.Content.Summary},
		{"technology", "技术与知识产权", a.Content.Technology},
		{"team", "团队", a.Content.Team},
		{"market", "市场与产业化路径", a.Content.Market},
	}
	for _, s := range sections {
		if strings.TrimSpace(s.text) == "" {
			return FieldError(s.field, "请填写"+s.label+"。")
		}
		if utf8.RuneCountInString(s.text) > maxSection {
			return FieldError(s.field, fmt.Sprintf("%s不超过 %d 个字。", s.label, maxSection))
		}
	}
	if len(a.Content.Budget) == 0 {
		return FieldError("budget", "请填写预算明细。")
	}
	sum := decimal.Zero
	for i, l := range a.Content.Budget {
		if strings.TrimSpace(l.Item) == "" || !l.Amount.IsPositive() {
			return FieldError("budget", fmt.Sprintf("预算明细第 %d 行须有科目和大于 0 的金额。", i+1))
		}
		if !l.Amount.Equal(l.Amount.Truncate(2)) {
			return FieldError("budget", fmt.Sprintf("预算明细第 %d 行金额最多保留两位小数。", i+1))
		}
		sum = sum.Add(l.Amount)
	}
	if !sum.Equal(a.RequestedAmount) {
		return FieldError("budget", fmt.Sprintf("预算明细合计 %s 元，与申请金额 %s 元不一致，请调整。",
			conversion.FormatMoney(sum), conversion.FormatMoney(a.RequestedAmount)))
	}
	if len(a.Content.Milestones) == 0 {
		return FieldError("milestones", "请至少填写一个里程碑。")
	}
	for i, m := range a.Content.Milestones {
		if _, err := time.Parse("2006-01-02", m.Date); err != nil || strings.TrimSpace(m.Description) == "" {
			return FieldError("milestones", fmt.Sprintf("里程碑第 %d 行须有日期（年-月-日）和内容。", i+1))
		}
	}
	return nil
}

func containsSector(ss []Sector, s Sector) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

// EnterpriseProfile is what an enterprise registers with (issue 3 §2).
type EnterpriseProfile struct {
	Name              string
	USCC              string
	LegalRep          string
	RegisteredCapital decimal.Decimal
	PaidInCapital     decimal.NullDecimal // 实缴资本, optional
	FoundedOn         time.Time
	Address           string // 注册地址
	InZone            bool   // declares 注册地在经开区 (staff confirm at formal review)
	ContactName       string
	ContactMobile     string
}

// Validate checks the registration form.
func (e *EnterpriseProfile) Validate(today time.Time) error {
	e.USCC = NormalizeUSCC(e.USCC)
	e.ContactMobile = NormalizeMobile(e.ContactMobile)
	switch {
	case strings.TrimSpace(e.Name) == "":
		return FieldError("name", "请填写企业名称（与营业执照一致）。")
	case utf8.RuneCountInString(e.Name) > 100:
		return FieldError("name", "企业名称不超过 100 个字。")
	}
	if err := ValidateUSCC(e.USCC); err != nil {
		return &Error{Kind: Invalid, Field: "uscc", Message: ErrorMessage(err)}
	}
	switch {
	case strings.TrimSpace(e.LegalRep) == "":
		return FieldError("legal_rep", "请填写法定代表人姓名。")
	case !e.RegisteredCapital.IsPositive():
		return FieldError("registered_capital", "请填写注册资本（元，大于 0）。")
	case e.PaidInCapital.Valid && e.PaidInCapital.Decimal.IsNegative():
		return FieldError("paid_in_capital", "实缴资本不能为负数。")
	case e.FoundedOn.IsZero() || e.FoundedOn.After(today):
		return FieldError("founded_on", "请填写成立日期（不晚于今天）。")
	case strings.TrimSpace(e.Address) == "":
		return FieldError("address", "请填写企业注册地址。")
	case strings.TrimSpace(e.ContactName) == "":
		return FieldError("contact_name", "请填写联系人姓名。")
	}
	if err := ValidateMobile(e.ContactMobile); err != nil {
		return &Error{Kind: Invalid, Field: "contact_mobile", Message: ErrorMessage(err)}
	}
	return nil
}
