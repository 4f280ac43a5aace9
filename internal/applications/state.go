package applications

import (
	"fmt"
	"slices"
	"strings"
)

// State is where an application stands in its lifecycle (DOMAIN §4). The
// string value is the code stored in the database and used in URLs; Label is
// what users see.
type State string

// The application states, in lifecycle order.
const (
	StateDraft         State = "draft"          // 草稿
	StateSubmitted     State = "submitted"      // 待形式审查
	StateReturned      State = "returned"       // 退回补正
	StateUnderReview   State = "under_review"   // 专家评审中
	StateReviewed      State = "reviewed"       // 待决策
	StateApproved      State = "approved"       // 公示中
	StateContracted    State = "contracted"     // 已签约
	StateFunded        State = "funded"         // 投后管理
	StateConversionDue State = "conversion_due" // 待转股
	StateConverted     State = "converted"      // 持股中
	StateExiting       State = "exiting"        // 退出中
	StateExited        State = "exited"         // 已退出
	StateLapsed        State = "lapsed"         // 未转股到期
	StateClosedGrant   State = "closed_grant"   // 结题(转无偿资助)
	StateRecovery      State = "recovery"       // 追回中
	StateRecovered     State = "recovered"      // 已追回
	StateWrittenOff    State = "written_off"    // 已核销
	StateRejected      State = "rejected"       // 不予立项
	StateWithdrawn     State = "withdrawn"      // 已撤回
)

// allStates lists every state once, in lifecycle order; AllStates copies it.
var allStates = []State{
	StateDraft, StateSubmitted, StateReturned, StateUnderReview, StateReviewed,
	StateApproved, StateContracted, StateFunded, StateConversionDue, StateConverted,
	StateExiting, StateExited, StateLapsed, StateClosedGrant, StateRecovery,
	StateRecovered, StateWrittenOff, StateRejected, StateWithdrawn,
}

// stateLabels are the Chinese names of DOMAIN §4, shown in lists, badges and
// the timeline.
var stateLabels = map[State]string{
	StateDraft:         "草稿",
	StateSubmitted:     "待形式审查",
	StateReturned:      "退回补正",
	StateUnderReview:   "专家评审中",
	StateReviewed:      "待决策",
	StateApproved:      "公示中",
	StateContracted:    "已签约",
	StateFunded:        "投后管理",
	StateConversionDue: "待转股",
	StateConverted:     "持股中",
	StateExiting:       "退出中",
	StateExited:        "已退出",
	StateLapsed:        "未转股到期",
	StateClosedGrant:   "结题(转无偿资助)",
	StateRecovery:      "追回中",
	StateRecovered:     "已追回",
	StateWrittenOff:    "已核销",
	StateRejected:      "不予立项",
	StateWithdrawn:     "已撤回",
}

// transitions is the whole of DOMAIN §4's "next" column: the only moves the
// system makes. Who may trigger each move, and what must be true first
// (a complete checklist, an approval, a verified trigger), is checked by the
// domain methods that call Transition; this table only says which moves
// exist. States absent from the map, or mapped to nothing, are terminal.
var transitions = map[State][]State{
	StateDraft:         {StateSubmitted, StateWithdrawn},
	StateSubmitted:     {StateReturned, StateUnderReview, StateRejected},
	StateReturned:      {StateSubmitted, StateWithdrawn},
	StateUnderReview:   {StateReviewed},
	StateReviewed:      {StateApproved, StateRejected},
	StateApproved:      {StateContracted, StateRejected},
	StateContracted:    {StateFunded, StateWithdrawn},
	StateFunded:        {StateConversionDue, StateLapsed, StateRecovery, StateWrittenOff},
	StateConversionDue: {StateConverted},
	StateConverted:     {StateExiting, StateWrittenOff},
	StateExiting:       {StateExited, StateWrittenOff},
	StateLapsed:        {StateClosedGrant, StateRecovery, StateFunded},
	StateRecovery:      {StateRecovered, StateWrittenOff},
}

// AllStates returns every state in lifecycle order. The slice is a fresh
// copy, so callers may modify it.
func AllStates() []State { return slices.Clone(allStates) }

// ParseState turns a stored or submitted code into a State. It returns an
// Invalid *Error for a code that is not a state.
func ParseState(s string) (State, error) {
	st := State(strings.TrimSpace(s))
	if !st.Valid() {
		return "", FieldError("state", fmt.Sprintf("未知的申请状态「%s」", s))
	}
	return st, nil
}

// Valid reports whether s is one of the defined states.
func (s State) Valid() bool {
	_, ok := stateLabels[s]
	return ok
}

// Label returns the Chinese name of the state; for an unknown code it returns
// the code itself so a bad row is visible rather than blank.
func (s State) Label() string {
	if l, ok := stateLabels[s]; ok {
		return l
	}
	return string(s)
}

// Terminal reports whether no transition leaves s: the application's story
// is over (exited, closed as a grant, recovered, written off, rejected or
// withdrawn). Unknown states are not terminal; they are invalid.
func (s State) Terminal() bool {
	return s.Valid() && len(transitions[s]) == 0
}

// Next returns the states that may follow from, in the table's order; nil for
// terminal or unknown states. The slice is a fresh copy.
func Next(from State) []State {
	return slices.Clone(transitions[from])
}

// CanTransition reports whether DOMAIN §4 allows moving directly from one
// state to the other.
func CanTransition(from, to State) bool {
	return slices.Contains(transitions[from], to)
}

// Transition checks a move against the table. It returns nil when allowed;
// an Invalid *Error when either state is unknown (a bad request or a bad
// row); otherwise a Conflict *Error naming both states in Chinese, because a
// refused move almost always means the application moved on since the user
// loaded the page, or the action does not apply in its state.
func Transition(from, to State) error {
	switch {
	case !from.Valid():
		return Errorf(Invalid, "未知的申请状态「%s」", from)
	case !to.Valid():
		return Errorf(Invalid, "未知的目标状态「%s」", to)
	case CanTransition(from, to):
		return nil
	case from == to:
		return Errorf(Conflict, "申请当前已是「%s」状态，无需重复操作；请刷新页面查看最新状态", from.Label())
	case from.Terminal():
		return Errorf(Conflict, "当前状态为「%s」，流程已结束，不能再变为「%s」", from.Label(), to.Label())
	default:
		return Errorf(Conflict, "当前状态为「%s」，不能直接变为「%s」", from.Label(), to.Label())
	}
}

// Sector is an industry the programme supports (DOMAIN §1). The string value
// is the stored code.
type Sector string

// The supported sectors.
const (
	SectorBiomedicine            Sector = "biomedicine"             // 生物医药
	SectorNewEnergyMaterials     Sector = "new_energy_materials"    // 新能源新材料
	SectorEquipmentManufacturing Sector = "equipment_manufacturing" // 装备制造
	SectorLowAltitude            Sector = "low_altitude"            // 低空经济
	SectorAI                     Sector = "ai"                      // 人工智能
)

var allSectors = []Sector{
	SectorBiomedicine, SectorNewEnergyMaterials, SectorEquipmentManufacturing,
	SectorLowAltitude, SectorAI,
}

var sectorLabels = map[Sector]string{
	SectorBiomedicine:            "生物医药",
	SectorNewEnergyMaterials:     "新能源新材料",
	SectorEquipmentManufacturing: "装备制造",
	SectorLowAltitude:            "低空经济",
	SectorAI:                     "人工智能",
}

// AllSectors returns the sectors in the order DOMAIN §1 lists them, for
// select boxes and programme settings. The slice is a fresh copy.
func AllSectors() []Sector { return slices.Clone(allSectors) }

// ParseSector turns a submitted code into a Sector, returning an Invalid
// *Error for field "sector" when it is not one.
func ParseSector(s string) (Sector, error) {
	sec := Sector(strings.TrimSpace(s))
	if !sec.Valid() {
		return "", FieldError("sector", "请选择所属领域：生物医药、新能源新材料、装备制造、低空经济或人工智能")
	}
	return sec, nil
}

// Valid reports whether s is one of the supported sectors.
func (s Sector) Valid() bool {
	_, ok := sectorLabels[s]
	return ok
}

// Label returns the Chinese name of the sector, or the code when unknown.
func (s Sector) Label() string {
	if l, ok := sectorLabels[s]; ok {
		return l
	}
	return string(s)
}

// Role is what a user may do (DOMAIN §2). The string value is the stored code.
type Role string

// The roles.
const (
	RoleEnterprise Role = "enterprise" // 企业用户
	RoleStaff      Role = "staff"      // 经办人员
	RoleApprover   Role = "approver"   // 审批人
	RoleExpert     Role = "expert"     // 评审专家
	RoleAuditor    Role = "auditor"    // 审计人员
	RoleAdmin      Role = "admin"      // 系统管理员

	// RoleSecurityAdmin sets the security policy, unlocks accounts and
	// resets second factors (三员分立, issue 16).
	RoleSecurityAdmin Role = "security_admin" // 安全管理员

	// RoleTrustee works for the state-owned holding platform that holds
	// the equity (DOMAIN §2): it sees its platform's projects from
	// conversion on and prepares their exits (issue 18).
	RoleTrustee Role = "trustee" // 受托管理机构经办
)

var allRoles = []Role{RoleEnterprise, RoleStaff, RoleApprover, RoleExpert, RoleAuditor, RoleAdmin, RoleTrustee, RoleSecurityAdmin}

var roleLabels = map[Role]string{
	RoleEnterprise: "企业用户",
	RoleStaff:      "经办人员",
	RoleApprover:   "审批人",
	RoleExpert:     "评审专家",
	RoleAuditor:    "审计人员",
	RoleAdmin:      "系统管理员",

	RoleSecurityAdmin: "安全管理员",
	RoleTrustee:       "受托管理机构经办",
}

// AllRoles returns the roles in DOMAIN §2's order. The slice is a fresh copy.
func AllRoles() []Role { return slices.Clone(allRoles) }

// ParseRole turns a stored or submitted code into a Role. Surrounding space
// and letter case are forgiven because codes also come from the command line
// (creating the first admin). It returns an Invalid *Error for field "role"
// when the code is not a role.
func ParseRole(s string) (Role, error) {
	r := Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", FieldError("role", fmt.Sprintf("未知的角色「%s」，可选：企业用户、经办人员、审批人、评审专家、审计人员、系统管理员、受托管理机构经办、安全管理员", strings.TrimSpace(s)))
	}
	return r, nil
}

// Valid reports whether r is one of the roles.
func (r Role) Valid() bool {
	_, ok := roleLabels[r]
	return ok
}

// Label returns the Chinese name of the role, or the code when unknown.
func (r Role) Label() string {
	if l, ok := roleLabels[r]; ok {
		return l
	}
	return string(r)
}
