package applications

import (
	"fmt"
	"math/big"
	"sort"
	"strings"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/conversion"
	"ite/internal/day"
)

// Recommendations an expert may give.
const (
	RecommendApprove = "approve"
	RecommendRevise  = "revise"
	RecommendReject  = "reject"
)

// RecommendationLabel is the Chinese name.
func RecommendationLabel(r string) string {
	return map[string]string{RecommendApprove: "建议立项", RecommendRevise: "修改后立项", RecommendReject: "不建议立项"}[r]
}

// ReviewInput is one expert's scoring as submitted.
type ReviewInput struct {
	Scores          map[string]decimal.Decimal // criterion code → score
	Comments        map[string]string
	Overall         string
	Recommendation  string
	SuggestedAmount decimal.NullDecimal
}

var half = decimal.RequireFromString("0.5")

// ValidateReview checks a review against the programme's criteria: every
// criterion scored from 0 to its weight in whole or half points, a
// recommendation, and a suggested amount (if any) that is a positive
// amount in yuan, and the overall comment. It returns the total score and
// the first problem (CheckReview lists them all). Errors: Invalid, with
// the field.
func (p Programme) ValidateReview(in ReviewInput) (decimal.Decimal, error) {
	total, problems := p.reviewProblems(in)
	if len(problems) > 0 {
		return total, FieldError(problems[0][0], problems[0][1])
	}
	return total, nil
}

// CheckReview is the expert's 检查 before submitting: every problem of the
// review at once, field → Chinese message, so each shows beside its field
// while nothing is locked yet. Empty: the review may be submitted.
func (p Programme) CheckReview(in ReviewInput) map[string]string {
	_, problems := p.reviewProblems(in)
	out := make(map[string]string, len(problems))
	for _, pr := range problems {
		out[pr[0]] = pr[1]
	}
	return out
}

// reviewProblems lists the problems in form order as (field, message).
func (p Programme) reviewProblems(in ReviewInput) (decimal.Decimal, [][2]string) {
	total := decimal.Zero
	var out [][2]string
	add := func(field, msg string) { out = append(out, [2]string{field, msg}) }
	for _, c := range p.Criteria {
		s, ok := in.Scores[c.Code]
		switch {
		case !ok:
			add("score_"+c.Code, fmt.Sprintf("请为“%s”打分。", c.Name))
		case s.IsNegative() || s.GreaterThan(c.Weight):
			add("score_"+c.Code, fmt.Sprintf("“%s”的得分须在 0 到 %s 分之间。", c.Name, c.Weight.String()))
		case !s.Mod(half).IsZero():
			add("score_"+c.Code, fmt.Sprintf("“%s”的得分须为整数或半分（如 17.5）。", c.Name))
		default:
			total = total.Add(s)
		}
	}
	switch in.Recommendation {
	case RecommendApprove, RecommendRevise, RecommendReject:
	default:
		add("recommendation", "请选择推荐意见。")
	}
	if in.SuggestedAmount.Valid && (!in.SuggestedAmount.Decimal.IsPositive() || !in.SuggestedAmount.Decimal.Equal(in.SuggestedAmount.Decimal.Truncate(2))) {
		add("suggested_amount", "建议金额须为大于 0 的金额（元），最多两位小数。")
	}
	if strings.TrimSpace(in.Overall) == "" {
		add("overall_comment", "请填写总体评审意见。")
	}
	return total, out
}

// SubmittedReview is a locked review as the result needs it.
type SubmittedReview struct {
	Scores         map[string]decimal.Decimal
	Total          decimal.Decimal
	Recommendation string
}

// ReviewResult is the application's result once every expert has scored.
type ReviewResult struct {
	N         int
	Means     map[string]decimal.Decimal // per criterion, half-up to 2 decimals
	Aggregate decimal.Decimal            // by the programme's rule, half-up to 2 decimals
	Trimmed   bool                       // one highest and one lowest dropped
	Passed    bool
	Counts    map[string]int // recommendation → count
}

// Aggregate computes the result (DOMAIN §3, §6): per-criterion means, the
// aggregate by the programme's rule (trimmed mean drops one highest and one
// lowest total when there are 5 or more scores), pass or fail against the
// pass score, recommendation counts. Means are exact until the one
// rounding to 2 decimals.
func (p Programme) Aggregate(reviews []SubmittedReview) ReviewResult {
	r := ReviewResult{N: len(reviews), Means: map[string]decimal.Decimal{}, Counts: map[string]int{}}
	if len(reviews) == 0 {
		return r
	}
	n := big.NewRat(int64(len(reviews)), 1)
	for _, c := range p.Criteria {
		sum := new(big.Rat)
		for _, rv := range reviews {
			sum.Add(sum, rv.Scores[c.Code].Rat())
		}
		r.Means[c.Code] = conversion.RoundMoney(sum.Quo(sum, n))
	}
	totals := make([]decimal.Decimal, len(reviews))
	for i, rv := range reviews {
		totals[i] = rv.Total
		r.Counts[rv.Recommendation]++
	}
	sort.Slice(totals, func(i, j int) bool { return totals[i].LessThan(totals[j]) })
	if p.Aggregation == "trimmed_mean" && len(totals) >= 5 {
		totals, r.Trimmed = totals[1:len(totals)-1], true
	}
	sum := new(big.Rat)
	for _, t := range totals {
		sum.Add(sum, t.Rat())
	}
	r.Aggregate = conversion.RoundMoney(sum.Quo(sum, big.NewRat(int64(len(totals)), 1)))
	r.Passed = !r.Aggregate.LessThan(p.PassScore)
	return r
}

// DecisionInput is what staff prepare.
type DecisionInput struct {
	Approve        bool
	Amount         decimal.Decimal
	CapOverride    bool
	OverrideReason string
	Terms          []byte // approve: the programme template with per-project overrides
	Reason         string // reject: why
}

// CheckDecision applies DOMAIN §7: an approval's amount is at most the
// requested amount, at most the per-project cap (above it only through an
// allowed override with a written reason), and at most the programme's
// uncommitted budget; a rejection needs a reason.
func CheckDecision(a Application, p Programme, in DecisionInput, committed decimal.Decimal) error {
	if !in.Approve {
		if strings.TrimSpace(in.Reason) == "" {
			return FieldError("reason", "不予立项须写明理由。")
		}
		return nil
	}
	yuan := func(d decimal.Decimal) string { return conversion.FormatMoney(d) + " 元" }
	switch {
	case !in.Amount.IsPositive() || !in.Amount.Equal(in.Amount.Truncate(2)):
		return FieldError("amount", "立项金额须为大于 0 的金额（元），最多两位小数。")
	case in.Amount.GreaterThan(a.RequestedAmount):
		return FieldError("amount", "立项金额不能超过申请金额 "+yuan(a.RequestedAmount)+"。")
	case in.Amount.GreaterThan(p.ProjectCap) && !in.CapOverride:
		return FieldError("amount", "立项金额超过单个项目上限 "+yuan(p.ProjectCap)+"。如确需“一事一议”，请勾选超上限例外并写明理由。")
	case in.CapOverride && !p.CapOverrideAllowed:
		return FieldError("amount", "本批次不允许超上限例外。")
	case in.CapOverride && strings.TrimSpace(in.OverrideReason) == "":
		return FieldError("override_reason", "超上限例外须写明理由。")
	}
	if remaining := p.TotalBudget.Sub(committed); in.Amount.GreaterThan(remaining) {
		return Errorf(Conflict, "立项金额超过本批次尚未安排的预算 %s（总额 %s，已安排 %s）。", yuan(remaining), yuan(p.TotalBudget), yuan(committed))
	}
	if _, err := ParseTerms(in.Terms); err != nil {
		return err
	}
	return nil
}

// Calendar says which days are working days: weekdays, except listed
// public holidays, plus listed adjusted working days (调休).
type Calendar struct {
	Holidays map[string]bool // YYYY-MM-DD
	Workdays map[string]bool
}

// Working reports whether day is a working day.
func (c Calendar) Working(day time.Time) bool {
	k := day.Format(time.DateOnly)
	if c.Workdays[k] {
		return true
	}
	if c.Holidays[k] {
		return false
	}
	wd := day.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// NoticePeriod returns the first and last day of a notice of n working
// days published on the approval date: it starts that day when it is a
// working day (else the next one) and ends on its n-th working day.
func (c Calendar) NoticePeriod(approved time.Time, n int) (start, end time.Time) {
	d := day.Date(approved)
	for !c.Working(d) {
		d = d.AddDate(0, 0, 1)
	}
	start = d
	for count := 1; count < n; {
		d = d.AddDate(0, 0, 1)
		if c.Working(d) {
			count++
		}
	}
	return start, d
}
