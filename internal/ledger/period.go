package ledger

import (
	"fmt"
	"time"
)

// Period close (结账). The ledger is closed month by month, in order: once
// a month is closed, no entry may be posted with a value date in it or in
// any earlier month, and a correction is posted in the open period (a
// reversing entry dated today). The latest closed month is therefore a
// watermark, and these rules need nothing but it.

// Month is the first day of the calendar month of d, as midnight UTC (the
// form of a `date`).
func Month(d time.Time) time.Time {
	y, m, _ := d.Date()
	return time.Date(y, m, 1, 0, 0, 0, 0, time.UTC)
}

// MonthLabel is the month as people write it: "2026年3月".
func MonthLabel(month time.Time) string {
	return fmt.Sprintf("%d年%d月", month.Year(), int(month.Month()))
}

// MonthEnd is the last day of month.
func MonthEnd(month time.Time) time.Time { return Month(month).AddDate(0, 1, -1) }

// CheckOpen refuses (with an *Error) an entry dated
// valueDate when the ledger is closed through closedThrough (the latest
// closed month; zero when none is closed).
func CheckOpen(valueDate, closedThrough time.Time) error {
	if closedThrough.IsZero() || Month(valueDate).After(Month(closedThrough)) {
		return nil
	}
	return ClosedPeriodError(valueDate)
}

// ClosedPeriodError is the refusal of a posting dated in a closed period.
// It names no field: it is met when an approver posts, on a page with no
// date to correct, so it is shown as the form's message.
func ClosedPeriodError(valueDate time.Time) error {
	return errorf("", "该期间（%s）已结账，更正请记入当前未结账期间。", MonthLabel(Month(valueDate)))
}

// NextOpenMonth is the month to close next: the one after closedThrough,
// or, when nothing is closed yet, the month of the first entry (firstEntry;
// zero for an empty ledger, when it is the month before today's).
func NextOpenMonth(closedThrough, firstEntry, today time.Time) time.Time {
	switch {
	case !closedThrough.IsZero():
		return Month(closedThrough).AddDate(0, 1, 0)
	case !firstEntry.IsZero():
		return Month(firstEntry)
	}
	return Month(today).AddDate(0, -1, 0)
}

// CheckClose says whether month may be closed today: it must be the next
// open month (months close in order), it must have ended, and the trial
// balance at its end (tb) must balance. It returns an *Error with a
// Chinese message.
func CheckClose(month, closedThrough, firstEntry, today time.Time, tb *TrialBalance) error {
	month = Month(month)
	if !closedThrough.IsZero() && !month.After(Month(closedThrough)) {
		return errorf("month", "%s已结账。", MonthLabel(month))
	}
	if next := NextOpenMonth(closedThrough, firstEntry, today); !month.Equal(next) {
		return errorf("month", "须按月依次结账：下一个应结账的期间是%s。", MonthLabel(next))
	}
	if !MonthEnd(month).Before(today) {
		return errorf("month", "%s尚未结束，月末之后才能结账。", MonthLabel(month))
	}
	if tb == nil {
		return errorf("month", "缺少%s末的试算平衡表。", MonthLabel(month))
	}
	if err := tb.Check(); err != nil {
		return errorf("month", "%s末试算不平衡，不能结账：%s", MonthLabel(month), err.Error())
	}
	return nil
}
