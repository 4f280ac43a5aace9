package applications

import (
	"fmt"
	"ite/internal/day"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/shopspring/decimal"
)

// Enterprise reporting duties (DOMAIN §2: enterprises report revenue and
// progress). A funded project owes a progress report for every reporting
// period of its programme; the periods and the rules of submission and
// review live here, their storage in internal/postgres.

// ReportStatus is where a progress report stands.
type ReportStatus string

// Report statuses: due → submitted → accepted, or → returned → submitted.
const (
	ReportDue       ReportStatus = "due"
	ReportSubmitted ReportStatus = "submitted"
	ReportAccepted  ReportStatus = "accepted"
	ReportReturned  ReportStatus = "returned"
)

// Label is the Chinese name.
func (s ReportStatus) Label() string {
	switch s {
	case ReportDue:
		return "待提交"
	case ReportSubmitted:
		return "待审核"
	case ReportAccepted:
		return "已通过"
	case ReportReturned:
		return "退回修改"
	}
	return string(s)
}

// ReportingStates are the application states in which a project owes
// progress reports: from the first disbursement until the platform has
// fully exited.
var ReportingStates = []State{
	StateFunded, StateConversionDue, StateConverted, StateExiting,
}

// Default reporting duty of a programme (columns programmes.report_*).
const (
	DefaultReportCadenceMonths = 6  // half-yearly
	DefaultReportGraceDays     = 30 // due a month after the period ends
)

// ValidReportCadence reports whether a cadence (months) divides the year
// into calendar-aligned periods: monthly, quarterly, half-yearly, yearly.
func ValidReportCadence(months int) bool {
	return months == 1 || months == 3 || months == 6 || months == 12
}

// ReportPeriod is one reporting period, dates inclusive (UTC midnight).
type ReportPeriod struct {
	Start, End time.Time
}

// ReportPeriods returns the periods a project must now report on: those
// after lastEnd (the end of its latest existing period; zero when it has
// none, and the first period then starts on anchor, the date of its first
// disbursement) that have ended before today.
//
// Periods follow the calendar (a cadence of 6 gives Jan–Jun and Jul–Dec;
// 3 gives quarters), so every project of a programme reports for the same
// periods and a change of cadence continues seamlessly from the last
// period. A period that would be shorter than half a calendar period (a
// project funded on 20 May, half-yearly) is merged into the next one.
func ReportPeriods(anchor, lastEnd time.Time, cadenceMonths int, today time.Time) []ReportPeriod {
	if !ValidReportCadence(cadenceMonths) || anchor.IsZero() {
		return nil
	}
	start := day.Date(anchor)
	if !lastEnd.IsZero() {
		start = day.Date(lastEnd).AddDate(0, 0, 1)
	}
	today = day.Date(today)
	var out []ReportPeriod
	for len(out) < 600 { // 50 years of monthly reports: a guard, never reached
		calStart, calEnd := calendarPeriod(start, cadenceMonths)
		end := calEnd
		if days(start, calEnd) < days(calStart, calEnd)/2 {
			_, end = calendarPeriod(calEnd.AddDate(0, 0, 1), cadenceMonths)
		}
		if !end.Before(today) {
			break
		}
		out = append(out, ReportPeriod{Start: start, End: end})
		start = end.AddDate(0, 0, 1)
	}
	return out
}

// calendarPeriod returns the calendar period of the cadence that contains d.
func calendarPeriod(d time.Time, cadenceMonths int) (time.Time, time.Time) {
	m := (int(d.Month())-1)/cadenceMonths*cadenceMonths + 1
	start := time.Date(d.Year(), time.Month(m), 1, 0, 0, 0, 0, time.UTC)
	return start, start.AddDate(0, cadenceMonths, -1)
}

// days counts the days from a to b, both included.
func days(a, b time.Time) int { return int(b.Sub(a).Hours()/24) + 1 }

// ReportFigures are a progress report's fixed key figures, the source of
// the enterprise indicators (绩效, DOMAIN §16). The last four came with
// the indicators; reports submitted before carry 0.
type ReportFigures struct {
	Revenue      decimal.Decimal // 营业收入（元）in the period
	RDSpend      decimal.Decimal // 研发投入（元）in the period
	Headcount    int             // 从业人数 at the end of the period
	IPCount      int             // 有效知识产权（件）at the end of the period
	RDStaff      int             // 研发人员, of the headcount, at the end of the period
	Patents      int             // 授权专利（件）granted in the period
	Copyrights   int             // 软件著作权（件）granted in the period
	NewFinancing decimal.Decimal // 新增融资（元）raised in the period
}

// ReportInput is what an enterprise submits.
type ReportInput struct {
	Figures   ReportFigures
	Narrative string
	Version   int // the report version the form was loaded at
}

// maxNarrative bounds the narrative, so a report stays a report.
const maxNarrative = 10000

// Validate checks a submission. Errors: Invalid, naming the field.
func (in ReportInput) Validate() error {
	f := in.Figures
	switch {
	case f.Revenue.IsNegative():
		return FieldError("revenue", "营业收入不能为负数。")
	case f.RDSpend.IsNegative():
		return FieldError("rd_spend", "研发投入不能为负数。")
	case !f.Revenue.Equal(f.Revenue.Round(2)):
		return FieldError("revenue", "金额最多两位小数（精确到分）。")
	case !f.RDSpend.Equal(f.RDSpend.Round(2)):
		return FieldError("rd_spend", "金额最多两位小数（精确到分）。")
	case f.Headcount < 0 || f.Headcount > 1_000_000:
		return FieldError("headcount", "从业人数须为 0 或正整数。")
	case f.IPCount < 0 || f.IPCount > 1_000_000:
		return FieldError("ip_count", "知识产权数量须为 0 或正整数。")
	case f.RDStaff < 0 || f.RDStaff > f.Headcount:
		return FieldError("rd_staff", "研发人员数须为 0 或正整数，且不超过从业人数。")
	case f.Patents < 0 || f.Patents > 1_000_000:
		return FieldError("patents", "授权专利件数须为 0 或正整数。")
	case f.Copyrights < 0 || f.Copyrights > 1_000_000:
		return FieldError("copyrights", "软件著作权件数须为 0 或正整数。")
	case f.NewFinancing.IsNegative() || !f.NewFinancing.Equal(f.NewFinancing.Round(2)):
		return FieldError("new_financing", "新增融资须为 0 或正数，最多两位小数（精确到分）。")
	case strings.TrimSpace(in.Narrative) == "":
		return FieldError("narrative", "请填写项目进展情况。")
	case utf8.RuneCountInString(in.Narrative) > maxNarrative:
		return FieldError("narrative", fmt.Sprintf("进展情况不超过 %d 字，详细材料请作为附件上传。", maxNarrative))
	}
	return nil
}

// ProgressReport is one period's report of a funded project.
type ProgressReport struct {
	ID            int64
	ApplicationID int64
	AppTitle      string
	AppState      State
	ProgrammeID   int64
	Programme     string
	EnterpriseID  int64
	Enterprise    string
	LiaisonID     int64
	PeriodStart   time.Time
	PeriodEnd     time.Time
	DueOn         time.Time
	Status        ReportStatus
	Figures       *ReportFigures // nil until first submitted
	Narrative     string
	SubmittedBy   string
	SubmittedAt   time.Time
	ReviewedBy    string
	ReviewedAt    time.Time
	ReviewComment string
	Version       int
	CreatedAt     time.Time
	Documents     []Document // attachments (FindReport only)
}

// Open reports whether the enterprise may (re)submit the report.
func (r ProgressReport) Open() bool { return r.Status == ReportDue || r.Status == ReportReturned }

// Overdue reports whether the report is still owed after its due date
// (today is China's calendar date).
func (r ProgressReport) Overdue(today time.Time) bool {
	return r.Open() && r.DueOn.Before(day.Date(today))
}

// PeriodLabel names the period as people write it: 2026年1月1日 至 2026年6月30日.
func (r ProgressReport) PeriodLabel() string {
	return day.Chinese(r.PeriodStart) + " 至 " + day.Chinese(r.PeriodEnd)
}

// ReportPeriod's due date: the period's end plus the programme's grace
// days.
func (p ReportPeriod) DueOn(graceDays int) time.Time { return p.End.AddDate(0, 0, graceDays) }

// OwesReports reports whether a project in state s owes progress reports
// (ReportingStates).
func (s State) OwesReports() bool {
	for _, r := range ReportingStates {
		if r == s {
			return true
		}
	}
	return false
}

// CheckSubmit decides whether the enterprise may submit in (already
// validated) for the report now: the report is open and unchanged since
// the form was loaded at in.Version (0: not checked). Errors: Conflict.
func (r ProgressReport) CheckSubmit(in ReportInput) error {
	if !r.Open() {
		return Errorf(Conflict, "该报告当前为「%s」，不能再提交。", r.Status.Label())
	}
	if in.Version != 0 && in.Version != r.Version {
		return Errorf(Conflict, "该报告已由同事修改或提交（您打开后又有变化），请刷新页面后核对。")
	}
	return nil
}

// CheckReviewComment trims and checks staff's review comment: a return
// must say what to change, since the enterprise sees it. Errors: Invalid.
func CheckReviewComment(accept bool, comment string) (string, error) {
	comment = strings.TrimSpace(comment)
	if !accept && comment == "" {
		return "", FieldError("comment", "退回时请写明需要修改或补充的内容，企业会看到这段意见。")
	}
	if utf8.RuneCountInString(comment) > 2000 {
		return "", FieldError("comment", "审核意见不超过 2000 字。")
	}
	return comment, nil
}

// ReportReview is what staff's verdict on a report changes.
type ReportReview struct {
	Status ReportStatus // accepted or returned
	Verb   string       // the verdict in the enterprise's notice
}

// Review decides staff's verdict on the report, loaded at version (0: not
// checked): only a submitted report is reviewed. Errors: Conflict.
func (r ProgressReport) Review(accept bool, version int) (ReportReview, error) {
	if r.Status != ReportSubmitted {
		return ReportReview{}, Errorf(Conflict, "只有「待审核」的报告可以审核（当前为「%s」）。", r.Status.Label())
	}
	if version != 0 && version != r.Version {
		return ReportReview{}, Errorf(Conflict, "该报告在您打开后又有变化，请刷新页面后重新审核。")
	}
	if !accept {
		return ReportReview{Status: ReportReturned, Verb: "被退回，请按意见修改后重新提交"}, nil
	}
	return ReportReview{Status: ReportAccepted, Verb: "已通过"}, nil
}

// CheckReportingDuty checks a programme's reporting settings: a
// calendar-aligned cadence and a grace period of 0–180 days. Errors:
// Invalid.
func CheckReportingDuty(cadenceMonths, graceDays int) error {
	if !ValidReportCadence(cadenceMonths) {
		return FieldError("cadence", "报告周期须为每月、每季度、每半年或每年。")
	}
	if graceDays < 0 || graceDays > 180 {
		return FieldError("grace", "提交期限须为期末后 0–180 天。")
	}
	return nil
}
