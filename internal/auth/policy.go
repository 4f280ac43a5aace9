package auth

import (
	"fmt"
	"time"
	"unicode/utf8"

	"ite/internal/applications"
)

// Policy is the security policy the security admin sets (issue 16,
// 三员分立): password life, who must use a second factor, and session
// limits. The store keeps it in one row; DefaultPolicy is that row's
// defaults.
type Policy struct {
	PasswordMinLength  int           // at least applications.PasswordMinLen
	PasswordMaxAge     time.Duration // 0: passwords never expire
	PasswordHistory    int           // the last N passwords (the current one included) cannot be reused
	SecondFactorForAll bool          // enterprise and expert users must enrol too
	IdleTimeout        time.Duration
	AbsoluteLifetime   time.Duration
}

// MaxAbsoluteLifetime is the longest session a policy may allow (and the
// session cookie's own lifetime: the server ends it sooner by the policy).
const MaxAbsoluteLifetime = 24 * time.Hour

// DefaultPolicy is the policy of a new installation: 10 characters,
// 90 days, the last 5 passwords, the second factor for the bureau and IT,
// sessions idle 30 minutes and 12 hours at most.
var DefaultPolicy = Policy{
	PasswordMinLength: applications.PasswordMinLen, PasswordMaxAge: 90 * 24 * time.Hour, PasswordHistory: 5,
	IdleTimeout: IdleTimeout, AbsoluteLifetime: AbsoluteLifetime,
}

// secondFactorRoles must enrol a second factor whatever the policy says
// (issue 16): everyone who can see or move the bureau's records or the
// system itself, and the trustee, who reads the platform's holdings and
// prepares their exits.
var secondFactorRoles = map[applications.Role]bool{
	applications.RoleStaff: true, applications.RoleApprover: true, applications.RoleAuditor: true,
	applications.RoleAdmin: true, applications.RoleSecurityAdmin: true, applications.RoleTrustee: true,
}

// RequiresSecondFactor reports whether a user of role must use a second
// factor: always for the bureau and IT roles, for enterprise and expert
// users only when the policy says so.
func (p Policy) RequiresSecondFactor(role applications.Role) bool {
	return secondFactorRoles[role] || (p.SecondFactorForAll && role.Valid())
}

// PasswordExpired reports whether a password set at changedAt is past the
// policy's maximum age at now.
func (p Policy) PasswordExpired(changedAt, now time.Time) bool {
	return p.PasswordMaxAge > 0 && !now.Before(changedAt.Add(p.PasswordMaxAge))
}

// CheckPassword applies the base rule (applications.ValidatePassword: 10
// characters, 3 classes) and the policy's minimum length. Errors: Invalid
// for field "password".
func (p Policy) CheckPassword(pw string) error {
	if err := applications.ValidatePassword(pw); err != nil {
		return err
	}
	if n := utf8.RuneCountInString(pw); n < p.PasswordMinLength {
		return applications.FieldError(applications.FieldPassword,
			fmt.Sprintf("按当前安全策略，密码至少需要%d个字符，您只输入了%d个，请加长密码", p.PasswordMinLength, n))
	}
	return nil
}

// Rules is the policy in words, for the change-password page.
func (p Policy) Rules() []string {
	rules := []string{
		fmt.Sprintf("至少 %d 个字符，最多 %d 个字符；", p.PasswordMinLength, applications.PasswordMaxLen),
		"须包含小写字母、大写字母、数字、符号中的至少三类；",
		fmt.Sprintf("不能与最近 %d 次使用过的密码相同；", p.PasswordHistory),
	}
	if p.PasswordMaxAge > 0 {
		rules = append(rules, fmt.Sprintf("每 %d 天须更换一次，到期后登录时将要求先修改密码。", int(p.PasswordMaxAge/(24*time.Hour))))
	} else {
		rules = append(rules, "当前策略不强制定期更换密码。")
	}
	return rules
}

// Validate checks a policy the security admin submitted. Errors: Invalid,
// with the field named.
func (p Policy) Validate() error {
	switch {
	case p.PasswordMinLength < applications.PasswordMinLen || p.PasswordMinLength > 64:
		return applications.FieldError("password_min_length", fmt.Sprintf("密码最小长度须在 %d 到 64 之间", applications.PasswordMinLen))
	case p.PasswordMaxAge < 0 || p.PasswordMaxAge > 3650*24*time.Hour:
		return applications.FieldError("password_max_age_days", "密码有效期须在 0（不过期）到 3650 天之间")
	case p.PasswordHistory < 1 || p.PasswordHistory > 24:
		return applications.FieldError("password_history", "不可重复使用的历史密码个数须在 1 到 24 之间")
	case p.IdleTimeout < 5*time.Minute || p.IdleTimeout > 4*time.Hour:
		return applications.FieldError("idle_timeout_minutes", "空闲超时须在 5 到 240 分钟之间")
	case p.AbsoluteLifetime < 30*time.Minute || p.AbsoluteLifetime > MaxAbsoluteLifetime:
		return applications.FieldError("absolute_timeout_minutes", "会话最长时间须在 30 到 1440 分钟之间")
	case p.IdleTimeout > p.AbsoluteLifetime:
		return applications.FieldError("idle_timeout_minutes", "空闲超时不能长于会话最长时间")
	}
	return nil
}
