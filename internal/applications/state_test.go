package applications

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

// domainTable is DOMAIN §4's "next" column, typed out again from the spec
// (as codes, not through the package's constants' map) so a slip in
// state.go's table cannot hide in the test.
var domainTable = map[string][]string{
	"draft":          {"submitted", "withdrawn"},
	"submitted":      {"returned", "under_review", "rejected"},
	"returned":       {"submitted", "withdrawn"},
	"under_review":   {"reviewed"},
	"reviewed":       {"approved", "rejected"},
	"approved":       {"contracted", "rejected"},
	"contracted":     {"funded", "withdrawn"},
	"funded":         {"conversion_due", "lapsed", "recovery", "written_off"},
	"conversion_due": {"converted"},
	"converted":      {"exiting", "written_off"},
	"exiting":        {"exited", "written_off"},
	"exited":         nil,
	"lapsed":         {"closed_grant", "recovery", "funded"},
	"closed_grant":   nil,
	"recovery":       {"recovered", "written_off"},
	"recovered":      nil,
	"written_off":    nil,
	"rejected":       nil,
	"withdrawn":      nil,
}

var domainLabels = map[string]string{
	"draft": "草稿", "submitted": "待形式审查", "returned": "退回补正", "under_review": "专家评审中",
	"reviewed": "待决策", "approved": "公示中", "contracted": "已签约", "funded": "投后管理",
	"conversion_due": "待转股", "converted": "持股中", "exiting": "退出中", "exited": "已退出",
	"lapsed": "未转股到期", "closed_grant": "结题(转无偿资助)", "recovery": "追回中", "recovered": "已追回",
	"written_off": "已核销", "rejected": "不予立项", "withdrawn": "已撤回",
}

func TestAllStatesMatchDomain(t *testing.T) {
	t.Parallel()
	all := AllStates()
	if len(all) != len(domainTable) {
		t.Fatalf("AllStates has %d states, DOMAIN §4 has %d", len(all), len(domainTable))
	}
	seen := map[State]bool{}
	for _, s := range all {
		if seen[s] {
			t.Errorf("state %q listed twice", s)
		}
		seen[s] = true
		if _, ok := domainTable[string(s)]; !ok {
			t.Errorf("state %q is not in DOMAIN §4", s)
		}
		if !s.Valid() {
			t.Errorf("%q.Valid() = false", s)
		}
		if got, want := s.Label(), domainLabels[string(s)]; got != want {
			t.Errorf("%q.Label() = %q, want %q", s, got, want)
		}
		if p, err := ParseState(" " + string(s) + " "); err != nil || p != s {
			t.Errorf("ParseState(%q) = %q, %v", s, p, err)
		}
	}
	all[0] = "mutated"
	if AllStates()[0] != StateDraft {
		t.Error("AllStates returned shared storage")
	}
}

func TestTransitionAllowedByDomainTable(t *testing.T) {
	t.Parallel()
	for from, nexts := range domainTable {
		got := Next(State(from))
		if len(got) != len(nexts) {
			t.Errorf("Next(%s) = %v, want %v", from, got, nexts)
		}
		for i, to := range nexts {
			t.Run(from+"To"+to, func(t *testing.T) {
				if !CanTransition(State(from), State(to)) {
					t.Errorf("CanTransition(%s, %s) = false", from, to)
				}
				if err := Transition(State(from), State(to)); err != nil {
					t.Errorf("Transition(%s, %s) = %v", from, to, err)
				}
				if i < len(got) && got[i] != State(to) {
					t.Errorf("Next(%s)[%d] = %s, want %s", from, i, got[i], to)
				}
			})
		}
	}
}

// TestTransitionRefusedForEveryOtherPair is the property: of all 19×19
// pairs, exactly those in DOMAIN §4 are allowed, and every other one is
// refused with a Conflict that names both states.
func TestTransitionRefusedForEveryOtherPair(t *testing.T) {
	t.Parallel()
	allowed := 0
	for _, from := range AllStates() {
		for _, to := range AllStates() {
			inTable := slices.Contains(domainTable[string(from)], string(to))
			if CanTransition(from, to) != inTable {
				t.Errorf("CanTransition(%s, %s) = %v, DOMAIN says %v", from, to, !inTable, inTable)
			}
			err := Transition(from, to)
			if inTable {
				allowed++
				continue
			}
			var e *Error
			if !errors.As(err, &e) || e.Kind != Conflict {
				t.Errorf("Transition(%s, %s) = %v, want Conflict", from, to, err)
				continue
			}
			if from != to && (!strings.Contains(e.Message, "「"+from.Label()+"」") || !strings.Contains(e.Message, "「"+to.Label()+"」")) {
				t.Errorf("Transition(%s, %s) message %q does not name both states", from, to, e.Message)
			}
		}
	}
	if allowed != 28 {
		t.Errorf("%d allowed transitions, DOMAIN §4 has 28", allowed)
	}
}

func TestTransitionRefused(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name     string
		from, to State
		kind     Kind
		message  string
	}{
		{"DraftStraightToContracted", StateDraft, StateContracted, Conflict, "当前状态为「草稿」，不能直接变为「已签约」"},
		{"DraftToUnderReview", StateDraft, StateUnderReview, Conflict, "当前状态为「草稿」，不能直接变为「专家评审中」"},
		{"SubmittedToApprovedSkippingReview", StateSubmitted, StateApproved, Conflict, "当前状态为「待形式审查」，不能直接变为「公示中」"},
		{"SubmittedToWithdrawn", StateSubmitted, StateWithdrawn, Conflict, "当前状态为「待形式审查」，不能直接变为「已撤回」"},
		{"UnderReviewToRejected", StateUnderReview, StateRejected, Conflict, "当前状态为「专家评审中」，不能直接变为「不予立项」"},
		{"ApprovedToFunded", StateApproved, StateFunded, Conflict, "当前状态为「公示中」，不能直接变为「投后管理」"},
		{"FundedToConverted", StateFunded, StateConverted, Conflict, "当前状态为「投后管理」，不能直接变为「持股中」"},
		{"ConversionDueToLapsed", StateConversionDue, StateLapsed, Conflict, "当前状态为「待转股」，不能直接变为「未转股到期」"},
		{"ConvertedBackToFunded", StateConverted, StateFunded, Conflict, "当前状态为「持股中」，不能直接变为「投后管理」"},
		{"ReturnedToUnderReview", StateReturned, StateUnderReview, Conflict, "当前状态为「退回补正」，不能直接变为「专家评审中」"},
		{"ExitedIsFinal", StateExited, StateExiting, Conflict, "当前状态为「已退出」，流程已结束，不能再变为「退出中」"},
		{"WrittenOffIsFinal", StateWrittenOff, StateRecovery, Conflict, "当前状态为「已核销」，流程已结束，不能再变为「追回中」"},
		{"RejectedIsFinal", StateRejected, StateDraft, Conflict, "当前状态为「不予立项」，流程已结束，不能再变为「草稿」"},
		{"SameState", StateFunded, StateFunded, Conflict, "申请当前已是「投后管理」状态，无需重复操作；请刷新页面查看最新状态"},
		{"UnknownFrom", "pending", StateSubmitted, Invalid, "未知的申请状态「pending」"},
		{"UnknownTo", StateDraft, "", Invalid, "未知的目标状态「」"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := Transition(tc.from, tc.to)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("Transition(%s, %s) = %v, want *Error", tc.from, tc.to, err)
			}
			if e.Kind != tc.kind || e.Message != tc.message {
				t.Errorf("Transition(%s, %s) = %s %q, want %s %q", tc.from, tc.to, e.Kind, e.Message, tc.kind, tc.message)
			}
			if CanTransition(tc.from, tc.to) {
				t.Errorf("CanTransition(%s, %s) = true", tc.from, tc.to)
			}
		})
	}
}

func TestTerminal(t *testing.T) {
	t.Parallel()
	want := []State{StateExited, StateClosedGrant, StateRecovered, StateWrittenOff, StateRejected, StateWithdrawn}
	for _, s := range AllStates() {
		if got := s.Terminal(); got != slices.Contains(want, s) {
			t.Errorf("%s.Terminal() = %v", s, got)
		}
		if s.Terminal() != (len(Next(s)) == 0) {
			t.Errorf("%s: Terminal disagrees with Next %v", s, Next(s))
		}
	}
	if State("nonsense").Terminal() {
		t.Error("unknown state reported terminal")
	}
	if Next("nonsense") != nil {
		t.Error("Next of unknown state not nil")
	}
}

func TestNextReturnsCopy(t *testing.T) {
	t.Parallel()
	n := Next(StateFunded)
	n[0] = StateExited
	if Next(StateFunded)[0] != StateConversionDue {
		t.Error("Next returned shared storage")
	}
}

// TestEveryStateReachable guards against a table that strands a state:
// every state can be reached from draft, and every non-terminal state can
// reach a terminal one.
func TestEveryStateReachable(t *testing.T) {
	t.Parallel()
	reached := map[State]bool{StateDraft: true}
	queue := []State{StateDraft}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, n := range Next(s) {
			if !reached[n] {
				reached[n] = true
				queue = append(queue, n)
			}
		}
	}
	for _, s := range AllStates() {
		if !reached[s] {
			t.Errorf("%s is unreachable from draft", s)
		}
	}
}

func TestParseStateRefusesUnknown(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "Draft", "pending", "草稿"} {
		if _, err := ParseState(s); ErrorKind(err) != Invalid {
			t.Errorf("ParseState(%q) err = %v, want Invalid", s, err)
		}
	}
	if got := State("legacy").Label(); got != "legacy" {
		t.Errorf("unknown Label = %q", got)
	}
}

func TestSectors(t *testing.T) {
	t.Parallel()
	want := []struct {
		s           Sector
		code, label string
	}{
		{SectorBiomedicine, "biomedicine", "生物医药"},
		{SectorNewEnergyMaterials, "new_energy_materials", "新能源新材料"},
		{SectorEquipmentManufacturing, "equipment_manufacturing", "装备制造"},
		{SectorLowAltitude, "low_altitude", "低空经济"},
		{SectorAI, "ai", "人工智能"},
	}
	all := AllSectors()
	if len(all) != len(want) {
		t.Fatalf("AllSectors() = %v", all)
	}
	for i, w := range want {
		if all[i] != w.s || string(w.s) != w.code || w.s.Label() != w.label || !w.s.Valid() {
			t.Errorf("sector %d = %q %q, want %q %q", i, all[i], all[i].Label(), w.code, w.label)
		}
		if got, err := ParseSector(w.code); err != nil || got != w.s {
			t.Errorf("ParseSector(%q) = %q, %v", w.code, got, err)
		}
	}
	for _, s := range []string{"", "AI", "fintech", "生物医药"} {
		_, err := ParseSector(s)
		wantInvalid(t, err, "sector", "请选择所属领域")
	}
}

func TestRoles(t *testing.T) {
	t.Parallel()
	want := []struct {
		r           Role
		code, label string
	}{
		{RoleEnterprise, "enterprise", "企业用户"},
		{RoleStaff, "staff", "经办人员"},
		{RoleApprover, "approver", "审批人"},
		{RoleExpert, "expert", "评审专家"},
		{RoleAuditor, "auditor", "审计人员"},
		{RoleAdmin, "admin", "系统管理员"},
		{RoleTrustee, "trustee", "受托管理机构经办"},
		{RoleSecurityAdmin, "security_admin", "安全管理员"},
	}
	all := AllRoles()
	if len(all) != len(want) {
		t.Fatalf("AllRoles() = %v", all)
	}
	for i, w := range want {
		if all[i] != w.r || string(w.r) != w.code || w.r.Label() != w.label || !w.r.Valid() {
			t.Errorf("role %d = %q %q, want %q %q", i, all[i], all[i].Label(), w.code, w.label)
		}
		for _, in := range []string{w.code, " " + w.code + "\n", strings.ToUpper(w.code)} {
			if got, err := ParseRole(in); err != nil || got != w.r {
				t.Errorf("ParseRole(%q) = %q, %v", in, got, err)
			}
		}
	}
	for _, s := range []string{"", "root", "superuser", "系统管理员"} {
		_, err := ParseRole(s)
		wantInvalid(t, err, "role", "未知的角色", "系统管理员")
	}
}
