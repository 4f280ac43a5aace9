// Package seed creates demo data for development and the synthetic data
// the benchmarks need. Demo accounts have published passwords, so Demo
// refuses to run in production.
package seed

import (
	"context"
	"errors"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/postgres"
)

// Login is one demo account to print for the developer.
type Login struct {
	Role     applications.Role
	Username string
	Password string
	Name     string
	// TOTPSecret is the published second-factor secret of a demo account
	// whose role requires one ("" otherwise); `server totp SECRET` prints
	// its current code.
	TOTPSecret string
}

// DemoPassword is shared by every demo account; it meets the password
// policy (10+ characters, 3 classes).
const DemoPassword = "Demo@2026ite"

// DemoEnterprise is the enterprise the demo enterprise user belongs to.
const (
	DemoEnterpriseName = "呼和浩特示例科技有限公司"
	DemoEnterpriseUSCC = "91150100314159268M"
)

// DemoLogins are the accounts Demo creates, one per role.
var DemoLogins = []Login{
	{applications.RoleEnterprise, "qiye", DemoPassword, "王企业", ""},
	{applications.RoleStaff, "jingban", DemoPassword, "李经办", "PUOL2S3YGPWYC4ZR7MA2J3IZ5WK4PN5C"},
	{applications.RoleApprover, "shenpi", DemoPassword, "张审批", "7IEN3ACG4SGXUXA7KIXBPBTRWUB65KG3"},
	{applications.RoleExpert, "zhuanjia", DemoPassword, "赵专家", ""},
	{applications.RoleAuditor, "shenji", DemoPassword, "钱审计", "ZYCFRJ6LM6WHMMIWKY2BZ4ZIBOJG6WWW"},
	{applications.RoleAdmin, "admin", DemoPassword, "孙管理", "NPMEU4QO4ZLHPUAIAXIZYKJL74IVZVVN"},
	{applications.RoleSecurityAdmin, "anquan", DemoPassword, "周安全", "ERKSCKAT7UPIFCRO3XQO5CPEHUFGKLHT"},
	{applications.RoleTrustee, "shoutuo", DemoPassword, "吴受托", "QDUJMBR2VGIEX7BO7BC3UUZHIDNVLA6K"},
}

// ErrProduction is returned when demo data is asked for in production.
var ErrProduction = errors.New("seed: APP_ENV=production: demo accounts with published passwords are refused")

var seedActor = audit.Actor{Name: "系统初始化", Role: "system"}

// Demo creates the demo enterprise and one account per role, unless the
// database already has users (then it does nothing and returns the logins
// so they can be printed again). production must be false.
func Demo(ctx context.Context, db *postgres.DB, production bool, params auth.Params) ([]Login, error) {
	if production {
		return nil, ErrProduction
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return DemoLogins, nil
	}
	ent, err := db.CreateEnterprise(ctx, seedActor, DemoEnterpriseName, DemoEnterpriseUSCC)
	if err != nil {
		return nil, err
	}
	for _, l := range DemoLogins {
		hash, err := auth.HashPassword(l.Password, params)
		if err != nil {
			return nil, err
		}
		n := postgres.NewUser{Username: l.Username, DisplayName: l.Name, Role: l.Role, PasswordHash: hash,
			TOTPSecret: l.TOTPSecret}
		if l.Role == applications.RoleEnterprise {
			n.EnterpriseID = ent.ID
		}
		if l.Role == applications.RoleTrustee {
			// the default holding platform, which the demo programmes name
			n.Platform = applications.DefaultHoldingPlatformUSCC
		}
		if _, err := db.CreateUser(ctx, seedActor, n); err != nil {
			return nil, err
		}
	}
	return DemoLogins, nil
}
