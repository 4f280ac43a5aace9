package page

import (
	"ite/internal/ledger"
	"ite/internal/postgres"
)

// SubAccount is a sub-account as a person reads it: the programme's name or
// the project's title ("专项批次 2026年度先投后股项目"), never the stored key
// "1002/prog/1". names are postgres.SubAccountNames (nil: none known, the
// number is given instead).
func SubAccount(names map[ledger.AccountKey]string, k ledger.AccountKey) string {
	if k.Scope == "" {
		return "—"
	}
	if n := names[ledger.AccountKey{Scope: k.Scope, ID: k.ID}]; n != "" {
		return k.Scope.Label() + " " + n
	}
	return k.Scope.Label() + " 第 " + itoa(k.ID) + " 号"
}

// subAccountText is SubAccount without names (audit details).
func subAccountText(names map[ledger.AccountKey]string, k ledger.AccountKey) string {
	return string(k.Code) + " " + k.Name() + " · " + SubAccount(names, k)
}

// RecordText is a business record as people quote it ("拨付 BF-12").
func RecordText(r ledger.RecordRef) string { return postgres.RecordText(r) }
