package page

import (
	"testing"

	"ite/internal/ledger"
)

// TestAuditDetail: a stored detail reads as a Chinese field list, codes by
// their names, before before after.
func TestAuditDetail(t *testing.T) {
	for in, want := range map[string]string{
		`{"after":{"state":"submitted"},"before":{"state":"draft"}}`:                 "修改前：（状态：草稿）；修改后：（状态：待形式审查）",
		`{"account":"1002/prog/3","amount":"1000000.00","record":"disbursement#12"}`: "科目：1002 专项资金存款 · 专项批次 第 3 号；金额：1,000,000.00；业务单据：拨付 BF-12",
		`{"role":"staff","active":true,"sectors":["ai"],"appraised_value":null}`:     "在库：是；评估值：无；角色：经办人员；领域：人工智能",
		`{"basis":"discount","format":"xlsx","method":"totp"}`:                       "价格依据：折扣价；格式：XLSX；方式：动态验证码",
		`{}`: "",
	} {
		if got := AuditDetail([]byte(in)); got != want {
			t.Errorf("AuditDetail(%s)\n got %q\nwant %q", in, got, want)
		}
	}
}

func TestRecordAndSubAccountText(t *testing.T) {
	names := map[ledger.AccountKey]string{{Scope: ledger.ScopeProgramme, ID: 1}: "2026年度先投后股"}
	if got := SubAccount(names, ledger.ProgrammeAccount(ledger.CodeFundBank, 1)); got != "专项批次 2026年度先投后股" {
		t.Errorf("sub-account %q", got)
	}
	for r, want := range map[ledger.RecordRef]string{
		{Type: "conversion", ID: 1}: "转股测算单 ZG-1", {Type: "disbursement", ID: 12}: "拨付 BF-12",
	} {
		if got := RecordText(r); got != want {
			t.Errorf("%v: %q, want %q", r, got, want)
		}
	}
}
