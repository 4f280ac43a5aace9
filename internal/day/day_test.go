package day

import (
	"testing"
	"time"
)

func TestOfIsChinasDay(t *testing.T) {
	// 16:30 UTC on 31 March is already 1 April in China.
	late := time.Date(2026, 3, 31, 16, 30, 0, 0, time.UTC)
	if got := Of(late); !got.Equal(New(2026, 4, 1)) {
		t.Fatalf("Of(%v) = %v, want 2026-04-01", late, got)
	}
	early := time.Date(2026, 3, 31, 15, 59, 0, 0, time.UTC)
	if got := Today(early); !got.Equal(New(2026, 3, 31)) {
		t.Fatalf("Today(%v) = %v, want 2026-03-31", early, got)
	}
	newYork := time.Date(2026, 3, 31, 12, 0, 0, 0, time.FixedZone("EDT", -4*3600)) // 16:00 UTC
	if got := Of(newYork); !got.Equal(New(2026, 4, 1)) {
		t.Fatalf("Of(New York noon) = %v, want 2026-04-01", got)
	}
	if Of(late).Location() != time.UTC || Of(late).Hour() != 0 {
		t.Fatalf("a date is UTC midnight, got %v", Of(late))
	}
}

func TestParse(t *testing.T) {
	for _, in := range []string{"2026-03-31", " 2026/3/31 ", "2026.3.31", "2026年3月31日", "2026年03月31日"} {
		got, err := Parse(in)
		if err != nil || !got.Equal(New(2026, 3, 31)) {
			t.Errorf("Parse(%q) = %v, %v; want 2026-03-31", in, got, err)
		}
	}
	for _, in := range []string{"", "2026-02-30", "2026-13-01", "26-3-31", "2026-3", "2026-03-31x", "明天", "2026--31", "2026-0-1", "2026-3--1"} {
		if got, err := Parse(in); err == nil {
			t.Errorf("Parse(%q) = %v, want an error", in, got)
		}
	}
}

func TestFormats(t *testing.T) {
	d := New(2026, 3, 1)
	if got := Chinese(d); got != "2026年3月1日" {
		t.Errorf("Chinese = %q", got)
	}
	if got := ISO(d); got != "2026-03-01" {
		t.Errorf("ISO = %q", got)
	}
	if Chinese(time.Time{}) != "" || ISO(time.Time{}) != "" {
		t.Error("the zero time must print as nothing")
	}
}

func TestAddYearsAnniversary(t *testing.T) {
	cases := []struct{ from, want time.Time }{
		{New(2024, 2, 29), New(2025, 2, 28)},
		{New(2024, 2, 29), New(2028, 2, 29)},
		{New(2026, 1, 15), New(2028, 1, 15)},
	}
	years := []int{1, 4, 2}
	for i, c := range cases {
		if got := AddYears(c.from, years[i]); !got.Equal(c.want) {
			t.Errorf("AddYears(%v, %d) = %v, want %v", ISO(c.from), years[i], ISO(got), ISO(c.want))
		}
	}
}

func TestDateKeepsTheDayWritten(t *testing.T) {
	tokyo := time.FixedZone("JST", 9*3600)
	// Midnight in Tokyo is still the previous day in China; Date keeps the
	// day as written, Of reads the instant.
	in := time.Date(2026, 3, 31, 0, 0, 0, 0, tokyo)
	if got := Date(in); !got.Equal(New(2026, 3, 31)) || got.Location() != time.UTC {
		t.Fatalf("Date(%v) = %v, want 2026-03-31 UTC", in, got)
	}
	if got := Of(in); !got.Equal(New(2026, 3, 30)) {
		t.Fatalf("Of(%v) = %v, want 2026-03-30", in, got)
	}
	if d := New(2024, 2, 29); !Date(d).Equal(d) {
		t.Fatalf("Date(New) changed the day: %v", Date(d))
	}
}
