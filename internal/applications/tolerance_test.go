package applications

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

func TestCheckLoss(t *testing.T) {
	d := decimal.RequireFromString
	before := LossRatio{Losses: d("100000.00"), Disbursed: d("1000000.00"), Tolerance: DefaultLossTolerance}
	minutes := &CommitteeMinutes{Number: "管委会纪要〔2026〕3号", HeldOn: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC), DocumentID: 1}
	t.Run("ExactlyAtToleranceAllowed", func(t *testing.T) {
		c, err := CheckLoss(before, d("700000.00"), nil)
		if err != nil || c.Beyond || FormatRatio(c.After.Percent()) != "80.00%" || FormatRatio(c.Before.Percent()) != "10.00%" {
			t.Fatalf("%+v %v", c, err)
		}
	})
	t.Run("OneFenOverRefusedWithoutMinutes", func(t *testing.T) {
		c, err := CheckLoss(before, d("700000.01"), nil)
		if ErrorKind(err) != Conflict || !c.Beyond {
			t.Fatalf("%+v %v", c, err)
		}
	})
	t.Run("OneFenOverAllowedWithMinutes", func(t *testing.T) {
		c, err := CheckLoss(before, d("700000.01"), minutes)
		if err != nil || !c.Beyond {
			t.Fatalf("%+v %v", c, err)
		}
	})
	t.Run("NothingDisbursedIsBeyond", func(t *testing.T) {
		if _, err := CheckLoss(LossRatio{Tolerance: DefaultLossTolerance}, d("0.01"), nil); ErrorKind(err) != Conflict {
			t.Fatal(err)
		}
	})
	t.Run("WarningFrom80PercentOfTolerance", func(t *testing.T) {
		at := LossRatio{Losses: d("640000.00"), Disbursed: d("1000000.00"), Tolerance: DefaultLossTolerance}
		below := at
		below.Losses = d("639999.99")
		if !at.Warn() || below.Warn() || at.Beyond() {
			t.Fatalf("warn at 64%%: %v, below: %v", at.Warn(), below.Warn())
		}
	})
}

func TestCommitteeMinutesValidate(t *testing.T) {
	today := time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)
	ok := CommitteeMinutes{Number: " 纪要1号 ", HeldOn: today}
	for name, c := range map[string]struct {
		m     CommitteeMinutes
		file  bool
		field string
	}{
		"NoNumber":   {CommitteeMinutes{HeldOn: today}, true, "minutes_number"},
		"NoDate":     {CommitteeMinutes{Number: "1"}, true, "minutes_date"},
		"FutureDate": {CommitteeMinutes{Number: "1", HeldOn: today.AddDate(0, 0, 1)}, true, "minutes_date"},
		"NoFile":     {ok, false, "minutes_file"},
	} {
		t.Run(name, func(t *testing.T) {
			err := c.m.Validate(today, c.file)
			var e *Error
			if !errors.As(err, &e) || e.Field != c.field {
				t.Fatalf("%v", err)
			}
		})
	}
	if err := ok.Validate(today, true); err != nil || ok.Number != "纪要1号" {
		t.Fatal(err, ok.Number)
	}
}
