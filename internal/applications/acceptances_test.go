package applications

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestCheckGrantEnding(t *testing.T) {
	t.Parallel()
	on := time.Date(2029, 1, 5, 0, 0, 0, 0, time.UTC)
	t.Run("RefusedWithoutAcceptance", func(t *testing.T) {
		err := CheckGrantEnding(nil)
		wantKind(t, err, Conflict, "")
		if !strings.Contains(err.Error(), "结题验收") {
			t.Fatalf("message does not name the acceptance: %v", err)
		}
	})
	t.Run("AllowedAfterPassed", func(t *testing.T) {
		for _, r := range []AcceptanceResult{AcceptancePassed, AcceptanceConditional} {
			if err := CheckGrantEnding(&Acceptance{Result: r, AcceptedOn: on}); err != nil {
				t.Fatalf("%s: %v", r, err)
			}
		}
	})
	t.Run("RefusedAfterFailed", func(t *testing.T) {
		err := CheckGrantEnding(&Acceptance{Result: AcceptanceFailed, AcceptedOn: on})
		wantKind(t, err, Conflict, "")
		if !strings.Contains(err.Error(), "不通过") || !strings.Contains(err.Error(), "追回") {
			t.Fatalf("message: %v", err)
		}
	})
}

func TestCheckAcceptance(t *testing.T) {
	t.Parallel()
	today := time.Date(2029, 1, 11, 0, 0, 0, 0, time.UTC)
	ok := AcceptanceInput{AcceptedOn: today, Result: AcceptancePassed}
	if _, err := CheckAcceptance(StateLapsed, ok, today, true, false, false); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name          string
		st            State
		in            AcceptanceInput
		report, audit bool
		requires      bool
		kind          Kind
		field         string
	}{
		{"RefusedBeforeFunding", StateContracted, ok, true, false, false, Conflict, ""},
		{"RefusedAfterEnd", StateClosedGrant, ok, true, false, false, Conflict, ""},
		{"RefusedFutureDate", StateFunded, AcceptanceInput{AcceptedOn: today.AddDate(0, 0, 1), Result: AcceptancePassed}, true, false, false, Invalid, "accepted_on"},
		{"RefusedNoResult", StateFunded, AcceptanceInput{AcceptedOn: today}, true, false, false, Invalid, "result"},
		{"RefusedConditionalWithoutConditions", StateFunded, AcceptanceInput{AcceptedOn: today, Result: AcceptanceConditional, Conditions: "  "}, true, false, false, Invalid, "conditions"},
		{"RefusedWithoutReport", StateFunded, ok, false, false, false, Invalid, "report"},
		{"RefusedWithoutRequiredAudit", StateFunded, ok, true, false, true, Invalid, "audit_report"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := CheckAcceptance(c.st, c.in, today, c.report, c.audit, c.requires)
			wantKind(t, err, c.kind, c.field)
		})
	}
	if _, err := CheckAcceptance(StateFunded, ok, today, true, true, true); err != nil {
		t.Fatalf("with the audit report: %v", err)
	}
}

// TestTrancheGatedByAcceptance: a tranche with gate "acceptance" is
// refused before a passed acceptance (and after a failed one), allowed
// after a passed one.
func TestTrancheGatedByAcceptance(t *testing.T) {
	t.Parallel()
	signed := time.Date(2026, 1, 31, 0, 0, 0, 0, time.UTC)
	terms := Terms{Tranches: []TrancheTerm{{Share: "0.6"}, {Share: "0.4", Gate: GateAcceptance}}}
	tranches, err := TranchePlan(terms, dec("1000000"), signed)
	if err != nil {
		t.Fatal(err)
	}
	p := DisbursementPlan{App: Application{ID: 7, State: StateFunded}, AgreementID: 3, AgreementVersion: 1,
		AgreementAmount: dec("1000000"), SignedOn: signed, Approved: decimal.NewNullDecimal(dec("1000000")),
		Disbursed: decimal.Zero, Pending: decimal.Zero, FundBalance: dec("800000"), Tranches: tranches}
	in := DisbursementInput{ApplicationID: 7, Tranche: 2, Amount: dec("400000"), ValueDate: signed.AddDate(1, 0, 0)}
	d := Disbursement{ID: 1, ApplicationID: 7, AgreementID: 3, Tranche: 2, Amount: dec("400000"), ValueDate: in.ValueDate, ProgrammeID: 1, PreparedBy: 5}
	t.Run("RefusedBeforeAcceptance", func(t *testing.T) {
		p.WithAcceptance(nil)
		wantKind(t, p.CheckRecord(in), Invalid, "tranche")
		if _, err := p.Approve(d, 6); ErrorKind(err) != Conflict {
			t.Fatalf("approve: %v", err)
		}
	})
	t.Run("RefusedAfterFailedAcceptance", func(t *testing.T) {
		p.WithAcceptance(&Acceptance{Result: AcceptanceFailed})
		wantKind(t, p.CheckRecord(in), Invalid, "tranche")
	})
	t.Run("AllowedAfterPassedAcceptance", func(t *testing.T) {
		p.WithAcceptance(&Acceptance{Result: AcceptanceConditional})
		if err := p.CheckRecord(in); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Approve(d, 6); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("UngatedTrancheUnaffected", func(t *testing.T) {
		p.WithAcceptance(nil)
		if err := p.CheckRecord(DisbursementInput{Tranche: 1, Amount: dec("100000"), ValueDate: signed}); err != nil {
			t.Fatal(err)
		}
	})
}

// TestTermsGate: the gate field parses and validates; terms without it
// keep their meaning and encoding (omitempty).
func TestTermsGate(t *testing.T) {
	t.Parallel()
	var tt Terms
	if err := json.Unmarshal(DefaultTermsTemplate(), &tt); err != nil {
		t.Fatal(err)
	}
	tt.Tranches[1].Gate = GateAcceptance
	b, _ := json.Marshal(tt)
	got, err := ParseTerms(b)
	if err != nil || got.Tranches[1].Gate != GateAcceptance {
		t.Fatalf("gate: %+v %v", got.Tranches, err)
	}
	tt.Tranches[1].Gate = "audit"
	b, _ = json.Marshal(tt)
	if _, err := ParseTerms(b); ErrorKind(err) != Invalid {
		t.Fatalf("unknown gate accepted: %v", err)
	}
	if strings.Contains(string(DefaultTermsTemplate()), "gate") {
		t.Fatal("terms without a gate now encode one")
	}
	if _, err := ParseTerms(DefaultTermsTemplate()); err != nil {
		t.Fatal(err)
	}
}
