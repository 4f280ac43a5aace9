package applications

import (
	"strings"
	"time"
	"unicode/utf8"

	"ite/internal/day"
)

// Acceptance (结题验收, DOMAIN §16): staff record a project's acceptance
// with its report (and the special audit report where the programme asks).
// A lapse ends as a grant only after a passed acceptance; a failed one
// leads to recovery. A tranche may be gated by acceptance (TrancheTerm.Gate).

// AcceptanceResult is the conclusion of an acceptance.
type AcceptanceResult string

// Acceptance results (acceptances.result).
const (
	AcceptancePassed      AcceptanceResult = "passed"      // 通过
	AcceptanceConditional AcceptanceResult = "conditional" // 有条件通过
	AcceptanceFailed      AcceptanceResult = "failed"      // 不通过
)

// AcceptanceResults lists the results in form order.
func AcceptanceResults() []AcceptanceResult {
	return []AcceptanceResult{AcceptancePassed, AcceptanceConditional, AcceptanceFailed}
}

// Label is the Chinese name.
func (r AcceptanceResult) Label() string {
	switch r {
	case AcceptancePassed:
		return "通过"
	case AcceptanceConditional:
		return "有条件通过"
	case AcceptanceFailed:
		return "不通过"
	}
	return string(r)
}

// Valid reports whether r is one of the results.
func (r AcceptanceResult) Valid() bool {
	return r == AcceptancePassed || r == AcceptanceConditional || r == AcceptanceFailed
}

// Passed reports whether r lets the project close: passed, or passed with
// conditions.
func (r AcceptanceResult) Passed() bool { return r == AcceptancePassed || r == AcceptanceConditional }

// GateAcceptance is the TrancheTerm.Gate of a tranche paid only after a
// passed acceptance.
const GateAcceptance = "acceptance"

// Acceptance is one recorded acceptance of a project.
type Acceptance struct {
	ID            int64
	ApplicationID int64
	AcceptedOn    time.Time // the date of the acceptance meeting (UTC midnight)
	Result        AcceptanceResult
	Conditions    string // the conditions of a conditional pass, or remarks
	ReportDoc     int64  // the acceptance report (验收报告)
	AuditDoc      int64  // the special audit report (专项审计报告); 0 when none
	RecordedBy    string
	RecordedAt    time.Time
}

// AcceptanceInput is what staff record; the files come separately.
type AcceptanceInput struct {
	AcceptedOn time.Time
	Result     AcceptanceResult
	Conditions string
}

// AcceptanceStates are the states in which staff may record an
// acceptance: the project has been paid and has not ended.
var AcceptanceStates = []State{StateFunded, StateConversionDue, StateConverted, StateExiting, StateLapsed}

// Acceptable reports whether a project in state s may be accepted now.
func (s State) Acceptable() bool {
	for _, a := range AcceptanceStates {
		if a == s {
			return true
		}
	}
	return false
}

// CheckAcceptance decides whether staff may record in for a project in
// state st today: the state allows it, the date is not in the future, the
// result is one of the three (a conditional pass names its conditions),
// the acceptance report is attached and, where the programme requires it,
// the special audit report too. Errors: Conflict (state), Invalid (naming
// the field).
func CheckAcceptance(st State, in AcceptanceInput, today time.Time, hasReport, hasAudit, requiresAudit bool) (AcceptanceInput, error) {
	if !st.Acceptable() {
		return in, Errorf(Conflict, "项目当前状态为「%s」，不能登记结题验收（须已拨付且尚未结束）。", st.Label())
	}
	in.Conditions = strings.TrimSpace(in.Conditions)
	switch {
	case in.AcceptedOn.IsZero():
		return in, FieldError("accepted_on", "请填写验收日期。")
	case day.Date(in.AcceptedOn).After(day.Date(today)):
		return in, FieldError("accepted_on", "验收日期不能晚于今天。")
	case !in.Result.Valid():
		return in, FieldError("result", "请选择验收结论：通过、有条件通过或不通过。")
	case in.Result == AcceptanceConditional && in.Conditions == "":
		return in, FieldError("conditions", "有条件通过须写明所附条件。")
	case utf8.RuneCountInString(in.Conditions) > 2000:
		return in, FieldError("conditions", "说明最多 2000 字。")
	case !hasReport:
		return in, FieldError("report", "请上传结题验收报告。")
	case requiresAudit && !hasAudit:
		return in, FieldError("audit_report", "本批次要求专项审计，请上传专项审计报告。")
	}
	return in, nil
}

// CheckGrantEnding decides whether a lapsed project may close as a grant
// (closed_grant), given its latest acceptance (nil: none recorded): only
// after a passed acceptance. Errors: Conflict, naming what is missing.
func CheckGrantEnding(latest *Acceptance) error {
	if latest == nil {
		return Errorf(Conflict, "转为无偿资助结题须先完成结题验收：本项目尚未登记结题验收（验收通过或有条件通过后方可办理）。")
	}
	if !latest.Result.Passed() {
		return Errorf(Conflict, "本项目结题验收结论为「不通过」（%s），不能转为无偿资助结题，应办理追回资金。",
			day.Chinese(latest.AcceptedOn))
	}
	return nil
}

// WithAcceptance marks the plan's acceptance-gated tranches as open when
// latest (the project's latest acceptance, nil: none) passed.
func (p *DisbursementPlan) WithAcceptance(latest *Acceptance) {
	p.Acceptance = latest
	for i := range p.Tranches {
		p.Tranches[i].Accepted = latest != nil && latest.Result.Passed()
	}
}
