package applications

import (
	"strings"
	"time"
	"unicode/utf8"

	"ite/internal/day"
)

// Deadlines of work asked of someone outside the bureau (issue 13): an
// expert's review, and information staff ask an enterprise for. Both are
// China calendar days; the to-do lists show them and mark them overdue.

// ReviewWorkingDays is the default time an expert has to declare and
// score: ten working days after the panel is drawn (two calendar weeks
// without holidays), counted on the China calendar so a panel drawn
// before 国庆 does not lose the holiday.
const ReviewWorkingDays = 10

// maxDeadlineDays bounds a deadline typed by staff: a deadline half a
// year out is a typing error, not a plan.
const maxDeadlineDays = 180

// AddWorkingDays returns the n-th working day after from (from itself not
// counted).
func (c Calendar) AddWorkingDays(from time.Time, n int) time.Time {
	d := day.Date(from)
	for count := 0; count < n; {
		d = d.AddDate(0, 0, 1)
		if c.Working(d) {
			count++
		}
	}
	return d
}

// ReviewDeadline is the deadline of a panel drawn today: due when staff
// set one, else ReviewWorkingDays working days on. Errors: Invalid (field
// due_on) for a day not after today or more than 180 days out.
func (c Calendar) ReviewDeadline(today, due time.Time) (time.Time, error) {
	if due.IsZero() {
		return c.AddWorkingDays(today, ReviewWorkingDays), nil
	}
	return due, checkDeadline("due_on", today, due, "评审截止日期")
}

func checkDeadline(field string, today, due time.Time, what string) error {
	today, due = day.Date(today), day.Date(due)
	switch {
	case !due.After(today):
		return FieldError(field, what+"须晚于今天（"+day.Chinese(today)+"），请重新选择。")
	case due.After(today.AddDate(0, 0, maxDeadlineDays)):
		return FieldError(field, what+"不能晚于 180 天之后（"+day.Chinese(today.AddDate(0, 0, maxDeadlineDays))+"），请重新选择。")
	}
	return nil
}

// Overdue reports whether a deadline has passed on today (the deadline
// day itself is still in time).
func Overdue(due, today time.Time) bool {
	return !due.IsZero() && day.Date(due).Before(day.Date(today))
}

// InfoRequest is information staff ask an enterprise for on one
// application (请补充近三年财务报表), with the day it is due; the
// enterprise answers with text, a file, or both.
type InfoRequest struct {
	ID            int64
	ApplicationID int64
	Body          string
	Due           time.Time
	AskedBy       int64
	AskedByName   string
	AskedAt       time.Time
	Answered      bool
	Answer        string
	AnswerDocID   int64 // 0: no file
	AnswerDocName string
	AnsweredBy    string
	AnsweredAt    time.Time
}

// maxInfoText bounds a request or an answer (characters).
const maxInfoText = 2000

// ValidateInfoRequest checks what staff ask: something to supply and a due
// day after today. Errors: Invalid (fields body, due_on).
func ValidateInfoRequest(body string, due, today time.Time) error {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return FieldError("body", "请写明需要企业补充的信息，例如“请补充近三年财务报表”。")
	case utf8.RuneCountInString(body) > maxInfoText:
		return FieldError("body", "说明不能超过 2000 字。")
	case due.IsZero():
		return FieldError("due_on", "请填写答复期限（如 2026-03-31）。")
	}
	return checkDeadline("due_on", today, due, "答复期限")
}

// ValidateInfoAnswer checks an answer: text, a file, or both. Errors:
// Invalid (field answer).
func ValidateInfoAnswer(answer string, hasFile bool) error {
	answer = strings.TrimSpace(answer)
	switch {
	case answer == "" && !hasFile:
		return FieldError("answer", "请填写答复内容或上传文件（至少一项）。")
	case utf8.RuneCountInString(answer) > maxInfoText:
		return FieldError("answer", "答复不能超过 2000 字。")
	}
	return nil
}
