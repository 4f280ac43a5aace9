package server

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"ite/internal/applications"
)

// TestMenuByRole pins what each role has in its menu: the entries of the
// routes that admit it, in the order of menu.go, with their heading
// (navGroup) as "heading/entry". Admins have no 财政拨入
// and, since issue 12, no 冲正 (DOMAIN §2: they cannot move money).
func TestMenuByRole(t *testing.T) {
	t.Parallel()
	want := map[applications.Role]string{
		enterprise:                     "首页 /, 我的申报 /applications, 评审立项/立项公示 /notices, 投后管理/进展报告 /reports, 统计测算/转股测算 /simulator, 消息 /inbox, 系统设置/本企业账号 /enterprise/colleagues, 我的账号 /account",
		staff:                          "首页 /, 申报受理 /applications, 评审立项/申报批次 /programmes, 评审立项/专家库 /experts, 评审立项/立项公示 /notices, 评审立项/企业核验 /enterprises/verification, 投后管理/股权台账 /equity, 投后管理/关注清单 /watchlist, 投后管理/进展报告 /reports, 资金台账/拨付 /disbursements, 资金台账/台账 /ledger, 统计测算/看板 /dashboard, 统计测算/转股测算 /simulator, 消息 /inbox, 系统设置/节假日 /calendar, 系统设置/参考利率 /admin/rates, 我的账号 /account",
		approver:                       "首页 /, 申报受理 /applications, 评审立项/申报批次 /programmes, 评审立项/立项公示 /notices, 投后管理/股权台账 /equity, 投后管理/关注清单 /watchlist, 投后管理/进展报告 /reports, 资金台账/拨付 /disbursements, 资金台账/台账 /ledger, 统计测算/看板 /dashboard, 统计测算/转股测算 /simulator, 消息 /inbox, 系统设置/参考利率 /admin/rates, 我的账号 /account",
		expert:                         "首页 /, 我的评审 /reviews, 消息 /inbox, 我的账号 /account",
		auditor:                        "首页 /, 申报受理 /applications, 审计/审计日志 /audit, 审计/链校验 /audit/verify, 评审立项/申报批次 /programmes, 评审立项/立项公示 /notices, 投后管理/股权台账 /equity, 投后管理/关注清单 /watchlist, 投后管理/进展报告 /reports, 资金台账/台账 /ledger, 资金台账/台账校验 /ledger/verify, 统计测算/看板 /dashboard, 统计测算/转股测算 /simulator, 消息 /inbox, 系统设置/参考利率 /admin/rates, 我的账号 /account",
		admin:                          "首页 /, 审计/审计日志 /audit, 评审立项/申报批次 /programmes, 评审立项/专家库 /experts, 投后管理/报告设置 /reports/settings, 消息 /inbox, 系统设置/用户管理 /admin/users, 系统设置/企业管理 /admin/enterprises, 系统设置/节假日 /calendar, 系统设置/参考利率 /admin/rates, 我的账号 /account",
		trustee:                        "首页 /, 持股项目 /applications, 投后管理/股权台账 /equity, 消息 /inbox, 我的账号 /account",
		applications.RoleSecurityAdmin: "首页 /, 消息 /inbox, 安全管理/安全策略 /security, 安全管理/账号安全 /security/accounts, 安全管理/安全事件 /security/events, 我的账号 /account",
	}
	routes := (&Server{}).routes()
	got, err := buildMenu(routes)
	if err != nil {
		t.Fatal(err)
	}
	for _, role := range applications.AllRoles() {
		var items []string
		for _, item := range got[role] {
			if item.Group != "" {
				items = append(items, item.Group+"/"+item.Label+" "+item.Href)
				continue
			}
			items = append(items, item.Label+" "+item.Href)
		}
		if s := strings.Join(items, ", "); s != want[role] {
			t.Errorf("menu of %s:\n got %s\nwant %s", role, s, want[role])
		}
		for _, item := range got[role] {
			i := slices.IndexFunc(routes, func(rt route) bool { return rt.method == http.MethodGet && rt.pattern == item.Href })
			if i < 0 || !routes[i].access.admits(role) {
				t.Errorf("menu of %s links to %s, which refuses it", role, item.Href)
			}
		}
	}
}

// TestMenuRefusesContradictions: a menu entry for a role its route refuses,
// or on a route that is not a page, stops the server from building.
func TestMenuRefusesContradictions(t *testing.T) {
	t.Parallel()
	h := (&Server{}).handleHome
	for name, rt := range map[string]route{
		"RoleTheRouteRefuses":   {"GET", "/x", can(applications.ActionManagePanel).inMenu(navHome, "x").menuFor(admin), h},
		"LabelForRefusedRole":   {"GET", "/x", can(applications.ActionManagePanel).inMenu(navHome, "x").labelFor(expert, "y"), h},
		"NotAPage":              {"POST", "/x", can(applications.ActionManagePanel).inMenu(navHome, "x"), h},
		"TwoEntriesOnePosition": {"GET", "/y", can(applications.ActionManagePanel).inMenu(navHome, "y"), h},
	} {
		t.Run(name, func(t *testing.T) {
			routes := []route{rt}
			if name == "TwoEntriesOnePosition" {
				routes = []route{{"GET", "/x", can(applications.ActionManagePanel).inMenu(navHome, "x"), h}, rt}
			}
			if _, err := buildMenu(routes); err == nil {
				t.Fatal("built a menu the routes contradict")
			}
		})
	}
}
