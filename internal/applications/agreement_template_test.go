package applications

import (
	"errors"
	"strings"
	"testing"
)

func TestValidateAgreementTemplate(t *testing.T) {
	t.Parallel()
	if err := ValidateAgreementTemplate(DefaultBureau, DefaultAgreementTemplate); err != nil {
		t.Fatalf("the default template is refused: %v", err)
	}
	for name, tc := range map[string]struct{ bureau, body, field, says string }{
		"RefusedUnknownPlaceholder": {DefaultBureau, "第一条 {{企业名称}}{{公司}}", "body", "{{公司}}"},
		"RefusedTableInLine":        {DefaultBureau, "见下表 {{分期拨付表}}", "body", "单独占一行"},
		"RefusedUnbalancedBraces":   {DefaultBureau, "第一条 {{企业名称}", "body", "花括号"},
		"RefusedEmptyBody":          {DefaultBureau, "  ", "body", "协议正文"},
		"RefusedEmptyBureau":        {" ", "第一条", "bureau", "甲方"},
	} {
		t.Run(name, func(t *testing.T) {
			err := ValidateAgreementTemplate(tc.bureau, tc.body)
			var e *Error
			if !errors.As(err, &e) || e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
				t.Fatalf("got %v, want a %s error saying %q", err, tc.field, tc.says)
			}
		})
	}
}

func TestFillAgreementTemplate(t *testing.T) {
	t.Parallel()
	table := AgreementBlock{Kind: "table", Head: []string{"批次"}, Rows: [][]string{{"第 1 笔"}}}
	got := FillAgreementTemplate("第一条 协议各方\r\n\n丙方：{{丙方}}，{{ 甲方 }}；{{未知}}\n{{分期拨付表}}\n<b>{{丙方}}</b>",
		map[string]string{"丙方": "某公司{{甲方}}", "甲方": "某局"}, map[string]AgreementBlock{PlaceholderTranches: table})
	want := []AgreementBlock{
		{Kind: "article", Text: "第一条 协议各方"},
		{Kind: "para", Text: "丙方：某公司{{甲方}}，某局；{{未知}}"}, // values are not expanded again
		table,
		{Kind: "para", Text: "<b>某公司{{甲方}}</b>"}, // markup stays text; the page escapes it
	}
	if len(got) != len(want) {
		t.Fatalf("%d blocks, want %d: %+v", len(got), len(want), got)
	}
	for i := range want {
		if got[i].Kind != want[i].Kind || got[i].Text != want[i].Text || len(got[i].Rows) != len(want[i].Rows) {
			t.Errorf("block %d = %+v, want %+v", i, got[i], want[i])
		}
	}
}
