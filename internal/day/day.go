// Package day is the China calendar: which day it is in China, how a date is
// read from a form and how it is written for people.
//
// A date (a value date, a due date, a notice's last day, a PostgreSQL `date`)
// is a time.Time at UTC midnight of that calendar day. Keeping dates at UTC
// midnight means no zone conversion can ever shift them by a day, whatever
// the server's TZ; only instants (a login, an approval) are turned into a
// China day, once, by Of.
//
// It is a leaf package (standard library only) so the domain, the store, the
// web layer and the commands all share one definition of "today".
package day

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// Zone is the zone every instant is read in: Asia/Shanghai from the system's
// tzdata, or a fixed +08:00 zone when tzdata is missing (a scratch
// container). China has had no daylight saving time since 1991, so the two
// agree for every date this system stores.
var Zone = loadZone()

func loadZone() *time.Location {
	if loc, err := time.LoadLocation("Asia/Shanghai"); err == nil {
		return loc
	}
	return time.FixedZone("CST", 8*60*60)
}

// Of is the China calendar day on which instant t falls, as a date.
func Of(t time.Time) time.Time {
	y, m, d := t.In(Zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// Today is the China calendar day at now (the injected clock's time).
func Today(now time.Time) time.Time { return Of(now) }

// Date is the calendar day written in t, read in t's own location, as a
// date: for a date that may arrive in some other location (a caller's
// time.Date(..., time.Local), a CST midnight), where Of would move it to
// China first. Date(New(y, m, d)) is New(y, m, d).
func Date(t time.Time) time.Time { return New(t.Date()) }

// New is the date y-m-d.
func New(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }

// ErrFormat is returned by Parse for text that is not a date.
var ErrFormat = errors.New("day: not a date (want 2026-03-31, 2026/3/31 or 2026年3月31日)")

// Parse reads a date as people type it: 2026-03-31 (what an <input
// type="date"> sends), 2026/3/31, 2026.3.31 or 2026年3月31日, with optional
// surrounding spaces. A day that does not exist (2026-02-30) is refused, not
// rolled over.
func Parse(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	s = strings.TrimSuffix(s, "日")
	s = strings.NewReplacer("年", "-", "月", "-", "/", "-", ".", "-").Replace(s)
	parts := strings.Split(s, "-")
	if len(parts) != 3 {
		return time.Time{}, ErrFormat
	}
	var n [3]int
	for i, p := range parts {
		v, err := strconv.Atoi(p)
		if err != nil || p == "" || len(p) > 4 || v < 0 {
			return time.Time{}, ErrFormat
		}
		n[i] = v
	}
	if len(parts[0]) != 4 || n[1] < 1 || n[1] > 12 || n[2] < 1 {
		return time.Time{}, ErrFormat
	}
	t := New(n[0], time.Month(n[1]), n[2])
	if t.Day() != n[2] {
		return time.Time{}, ErrFormat
	}
	return t, nil
}

// ISO writes a date as 2026-03-31 (forms, CSV, JSON); the zero time gives "".
func ISO(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.Format(time.DateOnly)
}

// Chinese writes a date as documents print it, 2026年3月31日 (no leading
// zeros); the zero time gives "".
func Chinese(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	y, m, d := t.Date()
	return strconv.Itoa(y) + "年" + strconv.Itoa(int(m)) + "月" + strconv.Itoa(d) + "日"
}

// AddYears is the same calendar day n years later; 29 February becomes 28
// February in a year without it (the anniversary rule of DOMAIN §10), where
// time.AddDate would roll over to 1 March.
func AddYears(t time.Time, n int) time.Time {
	y, m, d := t.Date()
	if m == time.February && d == 29 {
		if last := New(y+n, time.March, 1).AddDate(0, 0, -1); last.Day() == 28 {
			return last
		}
	}
	return New(y+n, m, d)
}
