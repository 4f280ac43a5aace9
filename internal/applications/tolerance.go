package applications

import (
	"fmt"

	"github.com/shopspring/decimal"
)

// DefaultLossTolerance is DOMAIN §3's 容亏率: 80% of the money disbursed.
var DefaultLossTolerance = decimal.NewFromInt(80)

// hundred is the percent scale.
var hundred = decimal.NewFromInt(100)

// LossRatio is a programme's loss ratio (DOMAIN §16): the losses booked to
// 6711 (exit losses and write-offs) over the money disbursed (the debits of
// 1221), both to date, against its tolerance in percent.
type LossRatio struct {
	Losses    decimal.Decimal
	Disbursed decimal.Decimal
	Tolerance decimal.Decimal // percent
}

// Percent is the ratio in percent rounded to 4 decimals; invalid when
// nothing has been disbursed.
func (r LossRatio) Percent() decimal.NullDecimal {
	if !r.Disbursed.IsPositive() {
		return decimal.NullDecimal{}
	}
	return decimal.NewNullDecimal(r.Losses.Mul(hundred).DivRound(r.Disbursed, 4))
}

// Beyond reports whether the losses exceed the tolerance, exactly:
// losses × 100 > tolerance × disbursed (no division, no rounding). Losses
// with nothing disbursed are beyond any tolerance.
func (r LossRatio) Beyond() bool {
	return r.Losses.Mul(hundred).GreaterThan(r.Tolerance.Mul(r.Disbursed))
}

// Warn reports whether the ratio has reached 80% of the tolerance (64% for
// the default 80%), the dashboard's warning.
func (r LossRatio) Warn() bool {
	if !r.Losses.IsPositive() {
		return false
	}
	return r.Losses.Mul(hundred).Mul(decimal.NewFromInt(5)).GreaterThanOrEqual(r.Tolerance.Mul(r.Disbursed).Mul(decimal.NewFromInt(4)))
}

// LossCheck is the tolerance check of one exit loss or write-off at its
// approval: the ratio before and after it.
type LossCheck struct {
	Loss   decimal.Decimal
	Before LossRatio
	After  LossRatio
	Beyond bool // the approval takes the ratio above the tolerance (it carried minutes)
}

// CheckLoss applies DOMAIN §16 to a loss about to be booked to 6711 in a
// programme at ratio before: an approval that would take the ratio above
// the tolerance needs the committee's minutes. It returns the check to
// record. Errors: Conflict (beyond the tolerance without minutes).
func CheckLoss(before LossRatio, loss decimal.Decimal, minutes *CommitteeMinutes) (LossCheck, error) {
	after := before
	after.Losses = before.Losses.Add(loss)
	c := LossCheck{Loss: loss, Before: before, After: after, Beyond: after.Beyond()}
	if !c.Beyond {
		return c, nil
	}
	why := fmt.Sprintf("批准后本批次损失率将由 %s 升至 %s，超过容亏率 %s%%", FormatRatio(before.Percent()), FormatRatio(after.Percent()),
		before.Tolerance.String())
	if err := RequireMinutes(minutes, why); err != nil {
		return c, err
	}
	return c, nil
}

// FormatRatio shows a ratio in percent with 2 decimals, "—" when undefined.
func FormatRatio(p decimal.NullDecimal) string {
	if !p.Valid {
		return "—"
	}
	return p.Decimal.StringFixed(2) + "%"
}
