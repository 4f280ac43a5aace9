// Package page holds one templ file per page, each with the small view
// model it renders.
package page

import "strconv"

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
