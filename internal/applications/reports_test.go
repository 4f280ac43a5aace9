package applications

import (
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func isoDay(s string) time.Time {
	d, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return d
}

func TestReportPeriods(t *testing.T) {
	t.Parallel()
	type p = [2]string
	for _, c := range []struct {
		name         string
		anchor, last string
		cadence      int
		today        string
		want         []p
	}{
		{"FirstHalfYearFromFunding", "2026-02-10", "", 6, "2026-07-01", []p{{"2026-02-10", "2026-06-30"}}},
		{"NotBeforeThePeriodEnds", "2026-02-10", "", 6, "2026-06-30", nil},
		{"ShortFirstPeriodMerged", "2026-05-20", "", 6, "2026-07-01", nil},
		{"ShortFirstPeriodReportedWithTheNext", "2026-05-20", "", 6, "2027-01-01", []p{{"2026-05-20", "2026-12-31"}}},
		{"CatchesUpSeveralPeriods", "2026-02-10", "2026-06-30", 6, "2027-07-01",
			[]p{{"2026-07-01", "2026-12-31"}, {"2027-01-01", "2027-06-30"}}},
		{"QuarterlyShortStartMerged", "2026-03-20", "", 3, "2026-07-01", []p{{"2026-03-20", "2026-06-30"}}},
		{"MonthlyLeapYear", "2028-02-01", "", 1, "2028-03-01", []p{{"2028-02-01", "2028-02-29"}}},
		{"CadenceChangeContinuesFromLastPeriod", "2026-01-01", "2026-06-30", 12, "2027-01-01", []p{{"2026-07-01", "2026-12-31"}}},
		{"CadenceChangeShortRemainderMerged", "2026-01-01", "2026-09-30", 12, "2027-01-01", nil},
		{"InvalidCadence", "2026-01-01", "", 5, "2030-01-01", nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			var last time.Time
			if c.last != "" {
				last = isoDay(c.last)
			}
			got := ReportPeriods(isoDay(c.anchor), last, c.cadence, isoDay(c.today))
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i, w := range c.want {
				if !got[i].Start.Equal(isoDay(w[0])) || !got[i].End.Equal(isoDay(w[1])) {
					t.Errorf("period %d = %s..%s, want %s..%s", i, got[i].Start.Format(time.DateOnly),
						got[i].End.Format(time.DateOnly), w[0], w[1])
				}
			}
		})
	}
}

func TestReportRules(t *testing.T) {
	t.Parallel()
	in := ReportInput{Figures: ReportFigures{Revenue: dec("100.50"), RDSpend: decimal.Zero}, Narrative: "进展顺利", Version: 2}
	t.Run("SubmitAllowedWhenDue", func(t *testing.T) {
		if err := (ProgressReport{Status: ReportDue, Version: 2}).CheckSubmit(in); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SubmitAllowedWhenReturned", func(t *testing.T) {
		if err := (ProgressReport{Status: ReportReturned, Version: 2}).CheckSubmit(in); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("SubmitRefusedWhenSubmitted", func(t *testing.T) {
		wantKind(t, ProgressReport{Status: ReportSubmitted, Version: 2}.CheckSubmit(in), Conflict, "")
	})
	t.Run("SubmitRefusedWhenChangedMeanwhile", func(t *testing.T) {
		wantKind(t, ProgressReport{Status: ReportDue, Version: 3}.CheckSubmit(in), Conflict, "")
	})
	t.Run("InputRefusedWithFen", func(t *testing.T) {
		bad := in
		bad.Figures.Revenue = dec("1.001")
		wantKind(t, bad.Validate(), Invalid, "revenue")
	})
	t.Run("InputRefusedWithoutNarrative", func(t *testing.T) {
		bad := in
		bad.Narrative = " "
		wantKind(t, bad.Validate(), Invalid, "narrative")
	})
	t.Run("InputRefusedTooLong", func(t *testing.T) {
		bad := in
		bad.Narrative = strings.Repeat("字", maxNarrative+1)
		wantKind(t, bad.Validate(), Invalid, "narrative")
	})
	t.Run("ReviewAccepts", func(t *testing.T) {
		r, err := ProgressReport{Status: ReportSubmitted, Version: 4}.Review(true, 4)
		if err != nil || r.Status != ReportAccepted || r.Verb != "已通过" {
			t.Fatalf("review = %+v, %v", r, err)
		}
	})
	t.Run("ReviewReturns", func(t *testing.T) {
		r, err := ProgressReport{Status: ReportSubmitted, Version: 4}.Review(false, 0)
		if err != nil || r.Status != ReportReturned {
			t.Fatalf("review = %+v, %v", r, err)
		}
	})
	t.Run("ReviewRefusedWhenNotSubmitted", func(t *testing.T) {
		_, err := ProgressReport{Status: ReportAccepted}.Review(true, 0)
		wantKind(t, err, Conflict, "")
	})
	t.Run("ReviewRefusedWhenChangedMeanwhile", func(t *testing.T) {
		_, err := ProgressReport{Status: ReportSubmitted, Version: 5}.Review(true, 4)
		wantKind(t, err, Conflict, "")
	})
	t.Run("ReturnRefusedWithoutComment", func(t *testing.T) {
		_, err := CheckReviewComment(false, "  ")
		wantKind(t, err, Invalid, "comment")
	})
	t.Run("AcceptAllowedWithoutComment", func(t *testing.T) {
		if c, err := CheckReviewComment(true, " "); err != nil || c != "" {
			t.Fatalf("comment = %q, %v", c, err)
		}
	})
	t.Run("DutyRefusedOddCadence", func(t *testing.T) {
		wantKind(t, CheckReportingDuty(5, 30), Invalid, "cadence")
	})
	t.Run("DutyRefusedLongGrace", func(t *testing.T) {
		wantKind(t, CheckReportingDuty(6, 181), Invalid, "grace")
	})
	t.Run("DueAfterGrace", func(t *testing.T) {
		if got := (ReportPeriod{End: isoDay("2026-06-30")}).DueOn(30); !got.Equal(isoDay("2026-07-30")) {
			t.Fatalf("due = %s", got)
		}
	})
	t.Run("OverdueTheDayAfterDue", func(t *testing.T) {
		r := ProgressReport{Status: ReportDue, DueOn: isoDay("2026-07-30")}
		if r.Overdue(isoDay("2026-07-30")) || !r.Overdue(isoDay("2026-07-31")) {
			t.Fatal("overdue from the wrong day")
		}
	})
	t.Run("ExitedOwesNothing", func(t *testing.T) {
		if StateExited.OwesReports() || !StateFunded.OwesReports() {
			t.Fatal("wrong reporting states")
		}
	})
}
