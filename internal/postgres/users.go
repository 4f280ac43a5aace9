package postgres

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
)

const userColumns = `u.id, u.username, u.display_name, u.role, COALESCE(u.enterprise_id, 0),
	COALESCE(e.name, ''), COALESCE(u.email, ''), u.disabled, COALESCE(u.locked_until, 'epoch'::timestamptz), u.created_at,
	u.must_change_password, u.password_changed_at, u.totp_secret IS NOT NULL, COALESCE(u.platform_uscc, '')`

const userFrom = ` FROM users u LEFT JOIN enterprises e ON e.id = u.enterprise_id `

func scanUser(row pgx.CollectableRow) (auth.User, error) {
	var u auth.User
	var role string
	err := row.Scan(&u.ID, &u.Username, &u.DisplayName, &role, &u.EnterpriseID, &u.Enterprise, &u.Email,
		&u.Disabled, &u.LockedUntil, &u.CreatedAt, &u.MustChangePassword, &u.PasswordChangedAt, &u.TOTPEnrolled, &u.Platform)
	u.Role = applications.Role(role)
	if u.LockedUntil.Unix() == 0 {
		u.LockedUntil = time.Time{}
	}
	return u, err
}

// NewUser is what an admin (or the seed, or enterprise registration)
// supplies to create an account. PasswordHash is already argon2id.
type NewUser struct {
	Username     string
	DisplayName  string
	Role         applications.Role
	PasswordHash string
	EnterpriseID int64
	Email        string // optional
	// MustChangePassword: someone else chose the password (an admin, staff
	// creating an expert, adduser); the user changes it at first sign-in.
	MustChangePassword bool
	// TOTPSecret enrols the second factor at creation (the demo accounts'
	// published secrets); "" leaves the user to enrol.
	TOTPSecret string
	// Platform is a trustee's holding platform (its USCC); required for a
	// trustee, refused for every other role.
	Platform string
}

// CreateUser inserts a user and its audit row. Errors: Conflict (username
// taken), Invalid (bad username, enterprise binding on a non-enterprise role).
func (db *DB) CreateUser(ctx context.Context, actor audit.Actor, n NewUser) (_ auth.User, err error) {
	defer wrap(&err, "CreateUser")
	var u auth.User
	email, err := NormalizeEmail(n.Email)
	if err != nil {
		return u, err
	}
	if err := checkPlatform(n.Role, &n.Platform); err != nil {
		return u, err
	}
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		var id int64
		err := tx.QueryRow(ctx, `
			INSERT INTO users (username, display_name, role, password_hash, enterprise_id, email,
			                   must_change_password, totp_secret, totp_enrolled_at, password_changed_at, platform_uscc)
			VALUES ($1, $2, $3, $4, NULLIF($5, 0), NULLIF($6, ''), $7, NULLIF($8, ''), CASE WHEN $8::text = '' THEN NULL ELSE $9::timestamptz END, $9, NULLIF($10, ''))
			RETURNING id`,
			strings.ToLower(n.Username), n.DisplayName, string(n.Role), n.PasswordHash, n.EnterpriseID, email,
			n.MustChangePassword, n.TOTPSecret, db.Now(), n.Platform).Scan(&id)
		if err != nil {
			return err
		}
		if err := rememberPassword(ctx, tx, id, n.PasswordHash, db.Now()); err != nil {
			return err
		}
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{
			Actor: actor, Name: "user_create", ObjectType: "user", ObjectID: strconv.FormatInt(id, 10),
			Outcome: audit.Success,
			Detail: map[string]any{"after": map[string]any{"username": u.Username, "role": u.Role,
				"enterprise_id": u.EnterpriseID, "platform": u.Platform}},
		})
	})
	return u, err
}

// checkPlatform: a trustee belongs to one holding platform, named by a
// valid 统一社会信用代码; no other role belongs to one. Errors: Invalid
// with the field "platform".
func checkPlatform(role applications.Role, platform *string) error {
	*platform = applications.NormalizeUSCC(*platform)
	switch {
	case role != applications.RoleTrustee:
		*platform = ""
	case *platform == "":
		return applications.FieldError("platform", "受托管理机构经办须选择所属的受托管理机构。")
	case applications.ValidateUSCC(*platform) != nil:
		return applications.FieldError("platform", "受托管理机构的统一社会信用代码无效，请从列表中选择。")
	}
	return nil
}

func findUser(ctx context.Context, q pgx.Tx, id int64) (auth.User, error) {
	rows, _ := q.Query(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1`, id)
	return pgx.CollectExactlyOneRow(rows, scanUser)
}

// FindUser returns one user. Errors: NotFound.
func (db *DB) FindUser(ctx context.Context, id int64) (_ auth.User, err error) {
	defer wrap(&err, "FindUser %d", id)
	rows, _ := db.Pool.Query(ctx, `SELECT `+userColumns+userFrom+`WHERE u.id = $1`, id)
	u, err := pgx.CollectExactlyOneRow(rows, scanUser)
	return u, mapError(err)
}

// ListUsers returns every user, admins first by role then name. The user
// count of a zone is in the hundreds, so no paging is needed.
func (db *DB) ListUsers(ctx context.Context) (_ []auth.User, err error) {
	defer wrap(&err, "ListUsers")
	rows, _ := db.Pool.Query(ctx, `SELECT `+userColumns+userFrom+`ORDER BY u.role, u.username`)
	us, err := pgx.CollectRows(rows, scanUser)
	return us, mapError(err)
}

// UserChange is an admin's edit of a user. Nil fields stay as they are.
type UserChange struct {
	Role         *applications.Role
	Disabled     *bool
	EnterpriseID *int64 // 0 unbinds
	PasswordHash *string
	Platform     *string // a trustee's holding platform (USCC)
}

// UpdateUser applies an admin's change, records before/after in the audit
// log, and ends the user's sessions when the change removes or alters
// their access (role change, disable, password reset, another enterprise
// or platform). Errors: NotFound,
// Invalid.
func (db *DB) UpdateUser(ctx context.Context, actor audit.Actor, id int64, c UserChange) (_ auth.User, err error) {
	defer wrap(&err, "UpdateUser %d", id)
	var after auth.User
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT 1 FROM users WHERE id = $1 FOR UPDATE`, id); err != nil {
			return err
		}
		before, err := findUser(ctx, tx, id)
		if err != nil {
			return err
		}
		role := before.Role
		if c.Role != nil {
			role = *c.Role
		}
		disabled := before.Disabled
		if c.Disabled != nil {
			disabled = *c.Disabled
		}
		ent := before.EnterpriseID
		if c.EnterpriseID != nil {
			ent = *c.EnterpriseID
		}
		if role != applications.RoleEnterprise {
			ent = 0 // a user that stops being an enterprise user loses the binding
		}
		platform := before.Platform
		if c.Platform != nil {
			platform = *c.Platform
		}
		if err := checkPlatform(role, &platform); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `
			UPDATE users SET role = $2, disabled = $3, enterprise_id = NULLIF($4, 0),
			       password_hash = COALESCE($5, password_hash),
			       password_changed_at = CASE WHEN $5::text IS NULL THEN password_changed_at ELSE $6 END,
			       must_change_password = must_change_password OR $5::text IS NOT NULL,
			       platform_uscc = NULLIF($7, ''),
			       updated_at = $6
			WHERE id = $1`, id, string(role), disabled, ent, c.PasswordHash, db.Now(), platform); err != nil {
			return err
		}
		// A reset no longer unlocks a locked account: unlocking is the
		// security admin's (三员分立, issue 16; UnlockAccount).
		if c.PasswordHash != nil {
			if err := rememberPassword(ctx, tx, id, *c.PasswordHash, db.Now()); err != nil {
				return err
			}
		}
		if after, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		// A user moved to another enterprise (or platform) signs in again:
		// what it may see changed as much as with a new role.
		if role != before.Role || disabled || c.PasswordHash != nil || platform != before.Platform || ent != before.EnterpriseID {
			if _, err := tx.Exec(ctx, `DELETE FROM sessions WHERE user_id = $1`, id); err != nil {
				return err
			}
		}
		event := "user_update"
		switch {
		case c.PasswordHash != nil:
			event = "user_password_reset"
		case role != before.Role:
			event = "user_role_change"
		case disabled != before.Disabled:
			event = map[bool]string{true: "user_disable", false: "user_enable"}[disabled]
		case ent != before.EnterpriseID:
			event = "user_enterprise_bind"
		case platform != before.Platform:
			event = "user_platform_change"
		}
		return appendAudit(ctx, tx, db.Now(), audit.Event{
			Actor: actor, Name: event, ObjectType: "user", ObjectID: strconv.FormatInt(id, 10), Outcome: audit.Success,
			Detail: map[string]any{
				"before": map[string]any{"role": before.Role, "disabled": before.Disabled, "enterprise_id": before.EnterpriseID, "platform": before.Platform},
				"after":  map[string]any{"role": after.Role, "disabled": after.Disabled, "enterprise_id": after.EnterpriseID, "platform": after.Platform},
			},
		})
	})
	return after, err
}

// LoginResult says how a sign-in attempt ended.
type LoginResult int

// Outcomes of Login.
const (
	LoginOK LoginResult = iota
	LoginBadCredentials
	LoginLocked // locked now or still locked
	LoginDisabled
)

// Login checks a username and password under a row lock, counts failures,
// locks the account after auth.MaxFailedLogins consecutive failures, and
// writes the audit row, all in one transaction so two concurrent guesses
// cannot both slip under the limit. check verifies the password against
// the stored hash (kept out of this package so it stays SQL-only).
func (db *DB) Login(ctx context.Context, actor audit.Actor, username string, check func(hash string) bool) (_ auth.User, _ LoginResult, err error) {
	defer wrap(&err, "Login")
	var u auth.User
	result := LoginBadCredentials
	err = db.inTx(ctx, func(tx pgx.Tx) error {
		now := db.Now()
		var id int64
		var hash string
		var failed int
		var disabled bool
		var locked *time.Time
		var enrolled bool
		err := tx.QueryRow(ctx, `
			SELECT id, password_hash, failed_logins, disabled, locked_until, totp_secret IS NOT NULL
			FROM users WHERE username = $1 FOR UPDATE`, strings.ToLower(username)).
			Scan(&id, &hash, &failed, &disabled, &locked, &enrolled)
		ev := audit.Event{Actor: actor, ObjectType: "user", Detail: map[string]any{"username": username}}
		if errors.Is(err, pgx.ErrNoRows) {
			check(dummyHash) // same work as a real attempt: no user enumeration by timing
			ev.Name, ev.Outcome = "login_failed", audit.Failure
			ev.Detail["reason"] = "unknown_user"
			return appendAudit(ctx, tx, now, ev)
		}
		if err != nil {
			return err
		}
		ev.ObjectID = strconv.FormatInt(id, 10)
		ev.Actor.ID = id
		switch {
		case locked != nil && now.Before(*locked):
			result = LoginLocked
			ev.Name, ev.Outcome = "login_refused_locked", audit.Refused
			return appendAudit(ctx, tx, now, ev)
		case !check(hash):
			ev.Name, ev.Outcome = "login_failed", audit.Failure
			lockedNow, err := countFailure(ctx, tx, now, id, failed, ev)
			if lockedNow {
				result = LoginLocked
			}
			return err
		case disabled:
			result = LoginDisabled
			ev.Name, ev.Outcome = "login_refused_disabled", audit.Refused
			return appendAudit(ctx, tx, now, ev)
		}
		// With a second factor the count goes on until the code is right
		// (VerifySecondFactor), so a known password cannot restart the
		// code's five tries. With nothing to reset no UPDATE is sent: every
		// statement on users, even one that changes no row, renews the
		// to-do lists that show people's names (ToDoListTables).
		if err := resetFailures(ctx, tx, id, failed, locked, !enrolled); err != nil {
			return err
		}
		if u, err = findUser(ctx, tx, id); err != nil {
			return err
		}
		result = LoginOK
		ev.Actor.Name, ev.Actor.Role = u.DisplayName, string(u.Role)
		ev.Name, ev.Outcome = "login", audit.Success
		if enrolled {
			// The session comes after the code (VerifySecondFactor).
			ev.Name = "login_password_accepted"
		}
		return appendAudit(ctx, tx, now, ev)
	})
	return u, result, err
}

// resetFailures ends a run of failures after a correct password (when
// reset) or code: it clears the count and an expired lock, and sends
// nothing when there is neither.
func resetFailures(ctx context.Context, tx pgx.Tx, id int64, failed int, locked *time.Time, reset bool) error {
	if !reset || (failed == 0 && locked == nil) {
		return nil
	}
	_, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1`, id)
	return err
}

// countFailure records one more consecutive failure of a password or a
// second-factor code (failed: the count before it) with its audit row ev,
// and at auth.MaxFailedLogins locks the account for auth.LockoutDuration
// (with an account_locked row). locked reports the lock.
func countFailure(ctx context.Context, tx pgx.Tx, now time.Time, id int64, failed int, ev audit.Event) (locked bool, err error) {
	failed++
	ev.Detail["consecutive_failures"] = failed
	if failed < auth.MaxFailedLogins {
		if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = $2 WHERE id = $1`, id, failed); err != nil {
			return false, err
		}
		return false, appendAudit(ctx, tx, now, ev)
	}
	until := now.Add(auth.LockoutDuration)
	if _, err := tx.Exec(ctx, `UPDATE users SET failed_logins = 0, locked_until = $2 WHERE id = $1`, id, until); err != nil {
		return true, err
	}
	if err := appendAudit(ctx, tx, now, ev); err != nil {
		return true, err
	}
	d := map[string]any{"locked_until": until.UTC().Format(time.RFC3339)}
	if step, ok := ev.Detail["step"]; ok {
		d["step"] = step
	}
	return true, appendAudit(ctx, tx, now, audit.Event{Actor: ev.Actor, Name: "account_locked",
		ObjectType: "user", ObjectID: ev.ObjectID, Outcome: audit.Success, Detail: d})
}

// dummyHash is verified when the username is unknown, so that path costs
// the same argon2id work as a wrong password.
var dummyHash = func() string {
	h, _ := auth.HashPassword("no such user, no such password", auth.DefaultParams)
	return h
}()

// StaffMember is a staff user who can act as liaison and reviewer.
type StaffMember struct {
	ID   int64
	Name string
}

// ListStaffMembers returns the enabled staff users, oldest first.
func (db *DB) ListStaffMembers(ctx context.Context) (_ []StaffMember, err error) {
	defer wrap(&err, "ListStaffMembers")
	rows, _ := db.Pool.Query(ctx, `SELECT id, display_name FROM users WHERE role = 'staff' AND NOT disabled ORDER BY id`)
	ss, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (StaffMember, error) {
		var s StaffMember
		return s, row.Scan(&s.ID, &s.Name)
	})
	return ss, mapError(err)
}

// HoldingPlatform is a holding platform a programme names (DOMAIN §3).
type HoldingPlatform struct {
	Name string
	USCC string
}

// ListHoldingPlatforms returns the platforms the programmes name with a
// code, each once (the newest programme's name for it), by name.
func (db *DB) ListHoldingPlatforms(ctx context.Context) (_ []HoldingPlatform, err error) {
	defer wrap(&err, "ListHoldingPlatforms")
	rows, _ := db.Pool.Query(ctx, `SELECT name, uscc FROM (SELECT DISTINCT ON (holding_platform_uscc) holding_platform AS name,
		holding_platform_uscc AS uscc FROM programmes WHERE holding_platform_uscc IS NOT NULL ORDER BY holding_platform_uscc, id DESC) p ORDER BY name, uscc`)
	ps, err := pgx.CollectRows(rows, pgx.RowToStructByPos[HoldingPlatform])
	return ps, mapError(err)
}
