package applications

import (
	"strings"
	"time"
	"unicode/utf8"
)

// CommitteeMinutes are the minutes of the committee meeting (决策联席会 /
// 管委会) a decision beyond the ordinary rules needs (DOMAIN §8): a cap
// override (一事一议) and an exit loss or write-off that takes the
// programme's loss ratio above its tolerance (§16). They name the meeting
// by its minutes number and date and carry the file; the approver sees
// them beside what they approve.
type CommitteeMinutes struct {
	Number     string    // 纪要编号, e.g. 经开管纪〔2026〕12号
	HeldOn     time.Time // the meeting's date (a day)
	DocumentID int64     // the minutes file (0 before it is stored)
	Filename   string
	RecordedBy string // who recorded them, for the page
}

// MinutesMaxNumber bounds the minutes number.
const MinutesMaxNumber = 64

// Validate checks the minutes as staff record them: a number, a meeting
// date not after today, and the file (withFile). Errors: Invalid, naming
// the field (minutes_number, minutes_date, minutes_file).
func (m *CommitteeMinutes) Validate(today time.Time, withFile bool) error {
	m.Number = strings.TrimSpace(m.Number)
	switch {
	case m.Number == "":
		return FieldError("minutes_number", "请填写会议纪要编号（决策联席会或管委会纪要）。")
	case utf8.RuneCountInString(m.Number) > MinutesMaxNumber:
		return FieldError("minutes_number", "会议纪要编号过长。")
	case m.HeldOn.IsZero():
		return FieldError("minutes_date", "请填写会议日期（年-月-日）。")
	case m.HeldOn.After(today):
		return FieldError("minutes_date", "会议日期不能晚于今天。")
	case !withFile:
		return FieldError("minutes_file", "请上传会议纪要文件。")
	}
	return nil
}

// RequireMinutes refuses a decision that needs the committee (why says
// which rule) when it carries no minutes. Errors: Conflict.
func RequireMinutes(m *CommitteeMinutes, why string) error {
	if m != nil {
		return nil
	}
	return Errorf(Conflict, "%s，须经决策联席会或管委会审议：请先登记会议纪要（编号、日期、文件）后再审批。", why)
}
