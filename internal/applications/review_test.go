package applications

import (
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestValidateReview(t *testing.T) {
	p := NewProgramme(2026, time.Now())
	good := func() ReviewInput {
		return ReviewInput{Scores: map[string]decimal.Decimal{"technology": dec("25.5"), "team": dec("16"), "market": dec("15"),
			"plan": dec("18"), "local_fit": dec("8")}, Recommendation: RecommendApprove, Overall: "好"}
	}
	if total, err := p.ValidateReview(good()); err != nil || !total.Equal(dec("82.5")) {
		t.Fatalf("total %s err %v", total, err)
	}
	cases := map[string]func(*ReviewInput){
		"AboveWeight":  func(in *ReviewInput) { in.Scores["technology"] = dec("30.5") },
		"Negative":     func(in *ReviewInput) { in.Scores["team"] = dec("-1") },
		"QuarterPoint": func(in *ReviewInput) { in.Scores["team"] = dec("10.25") },
		"Missing":      func(in *ReviewInput) { delete(in.Scores, "market") },
		"NoRecommend":  func(in *ReviewInput) { in.Recommendation = "" },
		"NoOverall":    func(in *ReviewInput) { in.Overall = " " },
		"BadSuggested": func(in *ReviewInput) { in.SuggestedAmount = decimal.NewNullDecimal(dec("1.234")) },
	}
	for name, change := range cases {
		t.Run(name+"Refused", func(t *testing.T) {
			in := good()
			change(&in)
			if _, err := p.ValidateReview(in); ErrorKind(err) != Invalid {
				t.Fatalf("err %v", err)
			}
		})
	}
}

func TestAggregate(t *testing.T) {
	p := NewProgramme(2026, time.Now())
	mk := func(total, tech string, rec string) SubmittedReview {
		return SubmittedReview{Total: dec(total), Recommendation: rec, Scores: map[string]decimal.Decimal{"technology": dec(tech)}}
	}
	t.Run("TrimmedMeanOfFive", func(t *testing.T) {
		r := p.Aggregate([]SubmittedReview{mk("90", "28", RecommendApprove), mk("60", "20", RecommendReject),
			mk("75", "25", RecommendApprove), mk("72", "24", RecommendRevise), mk("71", "22", RecommendApprove)})
		// drop 90 and 60: (75+72+71)/3 = 72.666… → 72.67
		if !r.Trimmed || r.Aggregate.String() != "72.67" || !r.Passed || r.Counts[RecommendApprove] != 3 {
			t.Fatalf("%+v", r)
		}
		if r.Means["technology"].String() != "23.8" {
			t.Fatalf("technology mean %s", r.Means["technology"])
		}
	})
	t.Run("PlainMeanBelowFive", func(t *testing.T) {
		r := p.Aggregate([]SubmittedReview{mk("90", "28", RecommendApprove), mk("49", "20", RecommendReject)})
		if r.Trimmed || r.Aggregate.String() != "69.5" || r.Passed {
			t.Fatalf("%+v", r)
		}
	})
}

func TestCheckDecision(t *testing.T) {
	p := NewProgramme(2026, time.Now())
	p.TotalBudget = dec("20000000")
	a := Application{RequestedAmount: dec("9000000")}
	ok := DecisionInput{Approve: true, Amount: dec("8000000"), Terms: p.TermsTemplate}
	if err := CheckDecision(a, p, ok, dec("0")); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		in        DecisionInput
		req       string
		committed string
		kind      Kind
	}{
		{"AboveRequested", DecisionInput{Approve: true, Amount: dec("9000000.01"), Terms: p.TermsTemplate}, "9000000", "0", Invalid},
		{"AboveCapWithoutOverride", DecisionInput{Approve: true, Amount: dec("12000000"), Terms: p.TermsTemplate}, "15000000", "0", Invalid},
		{"OverrideWithoutReason", DecisionInput{Approve: true, Amount: dec("12000000"), CapOverride: true, Terms: p.TermsTemplate}, "15000000", "0", Invalid},
		{"AboveUncommittedBudget", DecisionInput{Approve: true, Amount: dec("8000000"), Terms: p.TermsTemplate}, "9000000", "12000000.01", Conflict},
		{"RejectWithoutReason", DecisionInput{}, "9000000", "0", Invalid},
	}
	for _, c := range cases {
		t.Run(c.name+"Refused", func(t *testing.T) {
			a := Application{RequestedAmount: dec(c.req)}
			if err := CheckDecision(a, p, c.in, dec(c.committed)); ErrorKind(err) != c.kind {
				t.Fatalf("err %v", err)
			}
		})
	}
	t.Run("OverrideWithReasonAllowed", func(t *testing.T) {
		a := Application{RequestedAmount: dec("15000000")}
		in := DecisionInput{Approve: true, Amount: dec("12000000"), CapOverride: true, OverrideReason: "重大项目一事一议", Terms: p.TermsTemplate}
		if err := CheckDecision(a, p, in, dec("0")); err != nil {
			t.Fatal(err)
		}
	})
}

func TestNoticePeriod(t *testing.T) {
	cal := Calendar{Holidays: map[string]bool{"2026-10-01": true, "2026-10-02": true}, Workdays: map[string]bool{"2026-10-10": true}}
	d := func(s string) time.Time { v, _ := time.Parse(time.DateOnly, s); return v }
	cases := []struct{ approved, start, end string }{
		{"2026-11-20", "2026-11-20", "2026-11-26"}, // Friday approval: Fri, Mon–Thu
		{"2026-11-21", "2026-11-23", "2026-11-27"}, // Saturday approval: starts Monday
		{"2026-09-29", "2026-09-29", "2026-10-07"}, // holidays 10-01, 10-02 and the weekend skipped
		{"2026-10-08", "2026-10-08", "2026-10-13"}, // 10-10 (Sat) is an adjusted working day
	}
	for _, c := range cases {
		s, e := cal.NoticePeriod(d(c.approved), 5)
		if s.Format(time.DateOnly) != c.start || e.Format(time.DateOnly) != c.end {
			t.Errorf("approved %s: %s – %s, want %s – %s", c.approved, s.Format(time.DateOnly), e.Format(time.DateOnly), c.start, c.end)
		}
	}
}
