// Package page holds one templ file per page, each with the small view
// model it renders.
package page

import (
	"strconv"

	"ite/internal/applications"
)

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func outcomeLabel(o string) string {
	switch o {
	case "success":
		return "成功"
	case "failure":
		return "失败"
	case "refused":
		return "拒绝"
	}
	return o
}

// waited renders how long something has waited, in days or hours.
func waited(now, since int64) string {
	d := now - since
	switch {
	case d >= 86400:
		return strconv.FormatInt(d/86400, 10) + " 天"
	case d >= 3600:
		return strconv.FormatInt(d/3600, 10) + " 小时"
	default:
		return "不到 1 小时"
	}
}

func materialBadgeClass(s applications.MaterialStatus) string {
	switch s {
	case applications.MaterialAccepted:
		return "ok"
	case applications.MaterialReturned:
		return "err"
	case applications.MaterialUploaded:
		return "warn"
	}
	return ""
}

// sizeLabel shows a byte count as KiB or MiB.
func sizeLabel(n int64) string {
	switch {
	case n >= 1<<20:
		return strconv.FormatFloat(float64(n)/(1<<20), 'f', 1, 64) + " MiB"
	case n >= 1<<10:
		return strconv.FormatFloat(float64(n)/(1<<10), 'f', 1, 64) + " KiB"
	}
	return strconv.FormatInt(n, 10) + " 字节"
}

func shortHash(h string) string {
	if len(h) > 16 {
		return h[:16] + "…"
	}
	return h
}
