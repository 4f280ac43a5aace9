package applications

import (
	"slices"
	"testing"
)

func TestEveryActionIsDeclared(t *testing.T) {
	t.Parallel()
	seen := map[Action]bool{}
	for _, a := range Actions() {
		if seen[a] {
			t.Errorf("%s listed twice in Actions()", a)
		}
		seen[a] = true
		if _, ok := permissions[a]; !ok {
			t.Errorf("%s is in Actions() but not in the table", a)
		}
	}
	for a := range permissions {
		if !seen[a] {
			t.Errorf("%s is in the table but not in Actions()", a)
		}
	}
}

func TestEveryActionHasARole(t *testing.T) {
	t.Parallel()
	for _, a := range Actions() {
		if len(RolesFor(a)) == 0 {
			t.Errorf("%s: nobody may do it", a)
		}
		g := permissions[a]
		if (g.public || g.any) && len(g.roles) != 0 {
			t.Errorf("%s: public or any-role, and lists roles as well", a)
		}
		if g.public && g.any {
			t.Errorf("%s: both public and any-role", a)
		}
	}
}

// TestOpenActionsAreDeclaredAsSuch: the actions everyone (or every
// signed-in user) may do say so, rather than listing today's six roles, so
// a role added later gets them without an edit; and only those do.
func TestOpenActionsAreDeclaredAsSuch(t *testing.T) {
	t.Parallel()
	public := []Action{ActionUseSite, ActionSignIn, ActionRegisterEnterprise, ActionReadNotices}
	anyRole := []Action{ActionSignOut, ActionViewHome, ActionReadInbox, ActionCalculate, ActionManageOwnAccount}
	for _, a := range Actions() {
		if got, want := a.Public(), slices.Contains(public, a); got != want {
			t.Errorf("%s: Public() = %v, want %v", a, got, want)
		}
		if got, want := a.AnyRole(), slices.Contains(anyRole, a); got != want {
			t.Errorf("%s: AnyRole() = %v, want %v", a, got, want)
		}
		if (a.Public() || a.AnyRole()) && !slices.Equal(RolesFor(a), AllRoles()) {
			t.Errorf("%s: open, but RolesFor = %v", a, RolesFor(a))
		}
		if !a.Public() && !a.AnyRole() && slices.Equal(RolesFor(a), AllRoles()) {
			t.Errorf("%s lists every role: declare it any-role instead", a)
		}
	}
}

// TestMakerIsNeverCheckerByRole: DOMAIN §2, the maker of a money action can
// never be its checker. By role: the approver holds no maker action, staff
// no checker action (the store also refuses the same person both halves).
func TestMakerIsNeverCheckerByRole(t *testing.T) {
	t.Parallel()
	for _, a := range Actions() {
		if a.Prepares() && RoleApprover.Can(a) {
			t.Errorf("the approver may %s, a maker's action", a)
		}
		if a.Approves() && RoleStaff.Can(a) {
			t.Errorf("staff may %s, a checker's action", a)
		}
		if (a.Prepares() || a.Approves()) && !a.Money() {
			t.Errorf("%s is half of a maker–checker pair but not a money action", a)
		}
	}
	for _, a := range []Action{ActionRecordAppropriation, ActionRecordDisbursement, ActionRequestReversal, ActionPrepareDecision,
		ActionPrepareConversion, ActionPrepareExit, ActionPrepareEnding, ActionProposeTerms} {
		if !a.Prepares() || !RoleStaff.Can(a) {
			t.Errorf("%s: want a maker's action for staff", a)
		}
	}
	for _, a := range []Action{ActionApproveAppropriation, ActionApproveDisbursement, ActionApproveReversal, ActionApproveDecision,
		ActionApproveEquityProposal, ActionApproveTerms} {
		if !a.Approves() || !RoleApprover.Can(a) {
			t.Errorf("%s: want a checker's action for the approver", a)
		}
	}
}

// TestAdminMovesNoMoney: DOMAIN §2, the admin "cannot approve or move
// money"; in particular it no longer records appropriations (issue 12).
func TestAdminMovesNoMoney(t *testing.T) {
	t.Parallel()
	for _, a := range Actions() {
		if (a.Money() || a.Approves()) && RoleAdmin.Can(a) {
			t.Errorf("the admin may %s", a)
		}
	}
	if RoleAdmin.Can(ActionRecordAppropriation) {
		t.Error("the admin may record an appropriation")
	}
	if got := RolesFor(ActionRecordAppropriation); !slices.Equal(got, []Role{RoleStaff}) {
		t.Errorf("ActionRecordAppropriation: %v, want staff only", got)
	}
	if got := RolesFor(ActionApproveAppropriation); !slices.Equal(got, []Role{RoleApprover}) {
		t.Errorf("ActionApproveAppropriation: %v, want the approver only", got)
	}
}

// TestAdminReadsNoLedger: issue 12, with no money role left (no
// appropriations, no reversals) the admin reads no ledger page; it keeps
// checking integrity and reading the audit log, which are about the
// system it runs, not the money (DOMAIN §2).
func TestAdminReadsNoLedger(t *testing.T) {
	t.Parallel()
	for _, a := range []Action{ActionRequestReversal, ActionReadLedger, ActionReadLedgerEntry, ActionReadAppropriations, ActionReadReversals} {
		if RoleAdmin.Can(a) {
			t.Errorf("the admin may %s", a)
		}
	}
	for _, a := range []Action{ActionVerifyIntegrity, ActionReadAuditLog, ActionManageUsers, ActionManageEnterprises, ActionManageProgrammes} {
		if !RoleAdmin.Can(a) {
			t.Errorf("the admin may not %s", a)
		}
	}
}

// TestAuditorOnlyReads: DOMAIN §2, the auditor "reads everything ...
// changes nothing". Public actions (signing in, registering a company)
// are anyone's and not the auditor's duties, so they are left out.
func TestAuditorOnlyReads(t *testing.T) {
	t.Parallel()
	for _, a := range Actions() {
		if a.Public() {
			continue
		}
		if RoleAuditor.Can(a) && !a.ReadOnly() {
			t.Errorf("the auditor may %s, which changes records", a)
		}
	}
	for _, a := range []Action{ActionReadLedger, ActionReadAuditLog, ActionVerifyIntegrity, ActionReadApplications, ActionReadDashboard} {
		if !RoleAuditor.Can(a) {
			t.Errorf("the auditor may not %s", a)
		}
	}
}

func TestCanRefusesTheUnknown(t *testing.T) {
	t.Parallel()
	if RoleStaff.Can("no_such_action") {
		t.Error("an unknown action is allowed")
	}
	if Role("nobody").Can(ActionViewHome) || Role("nobody").Can(ActionUseSite) {
		t.Error("an unknown role is allowed")
	}
	if RolesFor("no_such_action") != nil {
		t.Error("an unknown action has roles")
	}
}

func TestRolesForIsStable(t *testing.T) {
	t.Parallel()
	got := RolesFor(ActionReadApplications)
	want := []Role{RoleEnterprise, RoleStaff, RoleApprover, RoleAuditor, RoleTrustee}
	if !slices.Equal(got, want) {
		t.Fatalf("RolesFor(ActionReadApplications) = %v, want %v (AllRoles order)", got, want)
	}
	got[0] = RoleAdmin
	if RolesFor(ActionReadApplications)[0] != RoleEnterprise {
		t.Fatal("RolesFor shares its slice")
	}
}

// TestThreeSeparatedAdministrators: 三员分立 (DOMAIN §2, issue 16). The
// security admin alone holds the security actions and nothing of the
// business; the admin and the auditor hold none of the security actions.
func TestThreeSeparatedAdministrators(t *testing.T) {
	t.Parallel()
	security := []Action{ActionManageSecurityPolicy, ActionUnlockAccount, ActionResetSecondFactor, ActionReadSecurityEvents}
	for _, a := range security {
		if got := RolesFor(a); !slices.Equal(got, []Role{RoleSecurityAdmin}) {
			t.Errorf("%s: %v, want the security admin only", a, got)
		}
	}
	for _, a := range Actions() {
		if a.Public() || a.AnyRole() || slices.Contains(security, a) {
			continue
		}
		if RoleSecurityAdmin.Can(a) {
			t.Errorf("the security admin may %s, a business or administration action", a)
		}
	}
}

// TestTrusteeHoldsExitsOnly: DOMAIN §2, the platform's trustee reads the
// projects, register and terms, prepares exits and records their receipts,
// and nothing before conversion or of the review: no application queue
// actions, no watchlist, no approval, no document it may not see (the
// handler refuses ID copies and credit reports).
func TestTrusteeHoldsExitsOnly(t *testing.T) {
	t.Parallel()
	may := []Action{ActionReadApplications, ActionReadEquityRegister, ActionPrepareExit, ActionRecordExitReceipt,
		ActionReadDocuments, ActionDownloadTemplates, ActionSetNotifications}
	for _, a := range Actions() {
		if a.Public() || a.AnyRole() {
			continue
		}
		if got, want := RoleTrustee.Can(a), slices.Contains(may, a); got != want {
			t.Errorf("RoleTrustee.Can(%s) = %v, want %v", a, got, want)
		}
	}
	if !ActionPrepareExit.Prepares() || !ActionPrepareExit.Money() {
		t.Error("an exit is a maker's money action, whoever prepares it")
	}
	if RoleTrustee.Can(ActionApproveEquityProposal) {
		t.Error("the trustee approves its own exits")
	}
}
