package seed

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"time"

	"github.com/shopspring/decimal"

	"ite/internal/applications"
	"ite/internal/audit"
	"ite/internal/auth"
	"ite/internal/blob"
	"ite/internal/conversion"
	"ite/internal/postgres"
	"ite/internal/suite"
)

// DemoOptions controls DemoWorld.
type DemoOptions struct {
	// Production refuses the run (demo accounts have published passwords).
	Production bool
	// PasswordParams hash the shared demo password (default auth.DefaultParams).
	PasswordParams auth.Params
	// Blobs and MasterKey store the demo documents as uploads do.
	Blobs     blob.Store
	MasterKey []byte
	// Crypto is the installation's algorithm choice (suite.Intl by default).
	Crypto suite.Suite
	// Now is the real present (default time.Now): every step of the demo
	// history is dated before it.
	Now time.Time
}

// DemoExperts are the expert pool of the demo, all enabled; together they
// cover every sector at least six times, so a panel of five can be drawn
// and a recusal replaced in any sector. zhuanjia is DemoLogins' expert.
var DemoExperts = []Login{
	{applications.RoleExpert, "zhuanjia", DemoPassword, "赵专家", ""},
	{applications.RoleExpert, "zhuanjia2", DemoPassword, "周海峰", ""},
	{applications.RoleExpert, "zhuanjia3", DemoPassword, "吴晓梅", ""},
	{applications.RoleExpert, "zhuanjia4", DemoPassword, "郑立新", ""},
	{applications.RoleExpert, "zhuanjia5", DemoPassword, "巴特尔", ""},
	{applications.RoleExpert, "zhuanjia6", DemoPassword, "陈思远", ""},
	{applications.RoleExpert, "zhuanjia7", DemoPassword, "林雅琴", ""},
}

var expertEmployers = []string{"内蒙古大学", "内蒙古工业大学", "内蒙古农业大学", "中国科学院包头稀土研发中心",
	"内蒙古自治区科技创新研究院", "内蒙古医科大学", "呼和浩特市产业投资评审中心"}

// DemoCase is one demo application: the state DOMAIN §4 it ends in and
// its title, for the README's table and the test.
type DemoCase struct {
	State applications.State
	Title string
}

// DemoCases lists the demo applications, one per state of DOMAIN §4, all
// of the enterprise qiye (DemoEnterpriseName).
var DemoCases = []DemoCase{
	{applications.StateDraft, "农牧区低空物流无人机航线规划系统"},
	{applications.StateSubmitted, "乳业发酵菌种高通量筛选平台"},
	{applications.StateReturned, "稀土永磁电机控制器国产化"},
	{applications.StateUnderReview, "风光储一体化能量管理系统"},
	{applications.StateReviewed, "工业视觉缺陷检测大模型"},
	{applications.StateApproved, "高寒地区氢燃料电池冷启动模组"},
	{applications.StateContracted, "重载矿用机器人关节减速器"},
	{applications.StateFunded, "单克隆抗体连续流纯化工艺"},
	{applications.StateConversionDue, "钠离子电池正极材料中试线"},
	{applications.StateConverted, "电力巡检无人机集群调度平台"},
	{applications.StateExiting, "兽用疫苗悬浮培养工艺"},
	{applications.StateExited, "光伏组件智能清扫机器人"},
	{applications.StateLapsed, "煤矸石基陶瓷膜制备"},
	{applications.StateClosedGrant, "草原生态遥感监测小模型"},
	{applications.StateRecovery, "碳化硅单晶生长炉"},
	{applications.StateRecovered, "蒙药有效成分提取装置"},
	{applications.StateWrittenOff, "固态激光雷达芯片"},
	{applications.StateRejected, "家用储能逆变器外观改型"},
	{applications.StateWithdrawn, "牧区智能饮水槽"},
}

// DemoWorld creates the demo when the database has no users (otherwise it
// does nothing and returns the logins so they can be printed again): one
// account per role plus an enabled expert pool, last-but-one year's
// programme (closed) and this year's (open), an approved appropriation in
// each fund, and one application in every state of DOMAIN §4 (DemoCases).
//
// Everything goes through the store's own methods, as the app does it:
// uploads through blob.Ingest and AddDocument, submission with its
// checklist check, formal review, panels, declarations and scores,
// decisions approved by an approver (maker ≠ checker), notices,
// agreements, disbursements, trigger events, conversions, exits, lapses,
// endings. The history is dated in the past by moving the store's clock
// (db.Now) step by step; the steps of all applications run in one time
// order, so the audit log and the ledger read as they would have been
// written. db.Now is restored before DemoWorld returns.
func DemoWorld(ctx context.Context, db *postgres.DB, o DemoOptions) ([]Login, error) {
	logins := append(slices.Clone(DemoLogins), DemoExperts[1:]...)
	if o.Production {
		return nil, ErrProduction
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		return nil, err
	}
	if len(users) > 0 {
		return logins, nil
	}
	if o.Blobs == nil || len(o.MasterKey) != blob.MasterKeyLen {
		return nil, fmt.Errorf("seed: the demo needs a blob store and a %d-byte master key", blob.MasterKeyLen)
	}
	if o.PasswordParams.Memory == 0 {
		o.PasswordParams = auth.DefaultParams
	}
	if o.Now.IsZero() {
		o.Now = time.Now()
	}
	realNow := db.Now
	defer func() { db.Now = realNow }()
	w := &world{db: db, o: o, rng: rand.New(rand.NewPCG(2026, 13))}
	if err := w.build(ctx); err != nil {
		// The accounts exist by now, so a restart would not try again.
		return nil, fmt.Errorf("seed: demo half-built, start again with an empty database (a new DATA_DIR): %w", err)
	}
	db.Now = realNow
	if err := renewPasswords(ctx, db, logins); err != nil {
		return nil, fmt.Errorf("seed: demo built, its passwords not renewed: %w", err)
	}
	return logins, nil
}

// renewPasswords dates every demo password today. The history created the
// accounts years back, past the 90-day password expiry (issue 16), and a
// newcomer signing in with a printed login must not be sent to change it
// first. The hash stays the same: the demo passwords are published.
func renewPasswords(ctx context.Context, db *postgres.DB, logins []Login) error {
	demo := map[string]bool{}
	for _, l := range logins {
		demo[l.Username] = true
	}
	users, err := db.ListUsers(ctx)
	if err != nil {
		return err
	}
	for _, u := range users {
		if !demo[u.Username] {
			continue
		}
		hash, err := db.PasswordHash(ctx, u.ID)
		if err != nil {
			return err
		}
		if err := db.ChangePassword(ctx, seedActor, u.ID, hash, "", "demo"); err != nil {
			return err
		}
	}
	return nil
}

// world is the demo being built.
type world struct {
	db  *postgres.DB
	o   DemoOptions
	rng *rand.Rand

	enterprise             audit.Actor
	enterpriseID           int64
	staff, approver, admin audit.Actor
	experts                []audit.Actor

	steps          []step
	noticeApproved time.Time // when the application still on notice was approved
}

// step is one dated action of the demo history.
type step struct {
	at   time.Time
	name string
	do   func(ctx context.Context) error
}

// at schedules fn at t; steps run in time order (equal times in the order
// scheduled).
func (w *world) at(t time.Time, name string, fn func(ctx context.Context) error) {
	w.steps = append(w.steps, step{at: t, name: name, do: fn})
}

// tick moves the clock on by d inside a step (several uploads in a row).
func (w *world) tick(d time.Duration) {
	t := w.db.Now().Add(d)
	w.db.Now = func() time.Time { return t }
}

func (w *world) run(ctx context.Context) error {
	slices.SortStableFunc(w.steps, func(a, b step) int { return a.at.Compare(b.at) })
	last := w.db.Now()
	for _, s := range w.steps {
		// A step that ticked the clock on (several uploads) may end after
		// the next one was due: that one starts a minute later instead,
		// so the clock never goes back.
		t := s.at
		if !t.After(last) {
			t = last.Add(time.Minute)
		}
		if !t.Before(w.o.Now) {
			return fmt.Errorf("step %q at %s is not in the past", s.name, t)
		}
		w.db.Now = func() time.Time { return t }
		if err := s.do(ctx); err != nil {
			return fmt.Errorf("%s (%s): %w", s.name, t.Format(time.DateTime), err)
		}
		last = w.db.Now()
	}
	return nil
}

// workday returns d's date at hour:minute in China (UTC+8), as UTC.
func workday(d time.Time, hour, minute int) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), hour-8, minute, 0, 0, time.UTC)
}

// china is the zone of the programme's dates (UTC+8, no daylight saving).
var china = time.FixedZone("CST", 8*3600)

// date is a value date (UTC midnight) of a step time: its day in China.
func date(t time.Time) time.Time {
	y, m, d := t.In(china).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

func (w *world) build(ctx context.Context) error {
	now := w.o.Now
	today := date(now)
	setupAt := workday(today.AddDate(-3, 0, 0), 9, 0)
	w.db.Now = func() time.Time { return setupAt }
	if err := w.accounts(ctx); err != nil {
		return err
	}

	// Last-but-one year's programme: its projects are signed, funded,
	// converted, exited, lapsed, ended.
	oldOpens := today.AddDate(-2, -9, 0)
	old := w.programme(oldOpens.Year(), oldOpens, oldOpens.AddDate(0, 2, 0), "100000000.00")
	// This year's programme, open: the early stages.
	curOpens := today.AddDate(0, 0, -60)
	cur := w.programme(today.Year(), curOpens, today.AddDate(0, 0, 30), "50000000.00")
	w.appropriation(old, workday(oldOpens.AddDate(0, 0, 20), 10, 0), "60000000.00", "内财教〔"+strconv.Itoa(oldOpens.Year())+"〕118号")
	w.appropriation(cur, workday(curOpens.AddDate(0, 0, 5), 10, 0), "30000000.00", "内财教〔"+strconv.Itoa(curOpens.Year())+"〕36号")
	w.at(workday(oldOpens.AddDate(0, 2, 5), 9, 0), "close the old programme", func(ctx context.Context) error {
		p, err := w.db.FindProgramme(ctx, old.ID)
		if err != nil {
			return err
		}
		p.Status = applications.ProgrammeClosed
		_, err = w.db.UpdateProgramme(ctx, w.admin, p)
		return err
	})

	// The notice that must still be running is approved on the last
	// working day up to now, so that it has started (ListCurrentNotices).
	days, err := w.db.ListCalendar(ctx)
	if err != nil {
		return err
	}
	cal := applications.Calendar{Holidays: map[string]bool{}, Workdays: map[string]bool{}}
	for _, d := range days {
		if d.Kind == "holiday" {
			cal.Holidays[d.Day.Format(time.DateOnly)] = true
		} else {
			cal.Workdays[d.Day.Format(time.DateOnly)] = true
		}
	}
	w.noticeApproved = now.Add(-2 * time.Hour)
	for !cal.Working(date(w.noticeApproved)) {
		w.noticeApproved = workday(date(w.noticeApproved).AddDate(0, 0, -1), 16, 0)
	}

	for i, c := range DemoCases {
		w.story(c, i, old, oldOpens, cur, today)
	}
	w.reports(oldOpens, today)
	return w.run(ctx)
}

// reports runs the progress-report sweep every six months of the funded
// projects' life up to three months ago; qiye submits each report that
// fell due and the liaison accepts it a few days later. The periods since
// are left to the server's own sweep: due or overdue at the real present.
func (w *world) reports(oldOpens, today time.Time) {
	for d := oldOpens.AddDate(0, 8, 0); d.Before(today.AddDate(0, -3, 0)); d = d.AddDate(0, 6, 0) {
		w.at(workday(d, 15, 0), "progress reports due", func(ctx context.Context) error {
			if _, err := w.db.EnsureDueReports(ctx, date(w.db.Now())); err != nil {
				return err
			}
			due, err := w.db.ListReports(ctx, postgres.ReportFilter{EnterpriseID: w.enterpriseID, Status: applications.ReportDue, Limit: 100})
			if err != nil {
				return err
			}
			for _, r := range due {
				w.tick(7 * time.Minute)
				in := applications.ReportInput{Version: r.Version, Figures: applications.ReportFigures{
					Revenue: decimal.NewFromInt(int64(300+w.rng.IntN(2000)) * 10_000), RDSpend: decimal.NewFromInt(int64(80+w.rng.IntN(400)) * 10_000),
					Headcount: 30 + w.rng.IntN(60), IPCount: 3 + w.rng.IntN(12)},
					Narrative: "本期按计划推进中试与市场开拓，研发投入与人员按预算执行，无重大风险事项。"}
				if _, err := w.db.SubmitReport(ctx, w.enterprise, r.ID, in, nil); err != nil {
					return err
				}
			}
			return nil
		})
		w.at(workday(d.AddDate(0, 0, 4), 10, 0), "progress reports accepted", func(ctx context.Context) error {
			sent, err := w.db.ListReports(ctx, postgres.ReportFilter{EnterpriseID: w.enterpriseID, Status: applications.ReportSubmitted, Limit: 100})
			if err != nil {
				return err
			}
			for _, r := range sent {
				w.tick(5 * time.Minute)
				if _, err := w.db.ReviewReport(ctx, w.staff, r.ID, true, "", r.Version); err != nil {
					return err
				}
			}
			return nil
		})
	}
}

// accounts creates the enterprise, one account per role and the expert
// pool with its profiles. The shared password is hashed once.
func (w *world) accounts(ctx context.Context) error {
	hash, err := auth.HashPassword(DemoPassword, w.o.PasswordParams)
	if err != nil {
		return err
	}
	ent, err := w.db.CreateEnterprise(ctx, seedActor, DemoEnterpriseName, DemoEnterpriseUSCC)
	if err != nil {
		return err
	}
	w.enterpriseID = ent.ID
	sectors := applications.AllSectors()
	expertNo := 0
	for _, l := range append(slices.Clone(DemoLogins), DemoExperts[1:]...) {
		n := postgres.NewUser{Username: l.Username, DisplayName: l.Name, Role: l.Role, PasswordHash: hash,
			TOTPSecret: l.TOTPSecret}
		if l.Role == applications.RoleEnterprise {
			n.EnterpriseID = ent.ID
		}
		if l.Role == applications.RoleTrustee {
			// the default holding platform, which the demo programmes name
			n.Platform = applications.DefaultHoldingPlatformUSCC
		}
		u, err := w.db.CreateUser(ctx, seedActor, n)
		if err != nil {
			return err
		}
		a := audit.Actor{ID: u.ID, Name: u.DisplayName, Role: string(u.Role)}
		switch l.Role {
		case applications.RoleEnterprise:
			w.enterprise = a
		case applications.RoleStaff:
			w.staff = a
		case applications.RoleApprover:
			w.approver = a
		case applications.RoleAdmin:
			w.admin = a
		case applications.RoleExpert:
			// Expert k covers every sector but one (none for the last
			// two), so each sector has at least len(DemoExperts)-2.
			var ss []applications.Sector
			for j, s := range sectors {
				if j != expertNo || expertNo >= len(sectors) {
					ss = append(ss, s)
				}
			}
			if err := w.db.SaveExpertProfile(ctx, w.admin, u.ID, postgres.ExpertProfile{
				Employer: expertEmployers[expertNo%len(expertEmployers)], EmployerUSCC: applications.ExampleUSCC(900 + expertNo),
				Sectors: ss, Active: true}); err != nil {
				return err
			}
			w.experts = append(w.experts, a)
			expertNo++
		}
	}
	return nil
}

// programme schedules the creation of an open programme ten days before
// it opens, with every default of DOMAIN §3; the returned value is filled
// in when the step has run.
func (w *world) programme(year int, opens, closes time.Time, budget string) *applications.Programme {
	p := new(applications.Programme)
	at := workday(opens.AddDate(0, 0, -10), 9, 0)
	w.at(at, "create programme", func(ctx context.Context) error {
		n := applications.NewProgramme(year, at)
		n.Name = strconv.Itoa(year) + "年度经开区“先投后股”科技项目（演示）"
		n.Status = applications.ProgrammeOpen
		n.OpensOn, n.ClosesOn = opens, closes
		n.TotalBudget = decimal.RequireFromString(budget)
		var err error
		*p, err = w.db.CreateProgramme(ctx, w.admin, n)
		return err
	})
	return p
}

// appropriation is recorded by staff and approved by the approver an hour
// later (maker ≠ checker).
func (w *world) appropriation(p *applications.Programme, at time.Time, amount, ref string) {
	var id int64
	w.at(at, "appropriation", func(ctx context.Context) error {
		ap, err := w.db.RecordAppropriation(ctx, w.staff, postgres.AppropriationInput{ProgrammeID: p.ID,
			Amount: decimal.RequireFromString(amount), ValueDate: date(at), Reference: ref,
			Note: "专项资金财政拨入", IdempotencyKey: auth.NewToken()})
		id = ap.ID
		return err
	})
	w.at(at.Add(time.Hour), "approve appropriation", func(ctx context.Context) error {
		_, err := w.db.ApproveAppropriation(ctx, w.approver, id, auth.NewToken())
		return err
	})
}

// demoApp is one application as its story is told.
type demoApp struct {
	w        *world
	c        DemoCase
	p        *applications.Programme
	id       int64
	amount   decimal.Decimal
	sector   applications.Sector
	sectorNo int
	t        time.Time // the clock of the next step
	convID   int64
}

// next schedules fn after advancing the story's clock by d.
func (a *demoApp) next(d time.Duration, name string, fn func(ctx context.Context) error) {
	a.t = a.t.Add(d)
	a.w.at(a.t, a.c.Title+": "+name, fn)
}

const oneDay = 24 * time.Hour

// story schedules the history of DemoCases[i].
func (w *world) story(c DemoCase, i int, old *applications.Programme, oldOpens time.Time, cur *applications.Programme, today time.Time) {
	sectors := applications.AllSectors()
	a := &demoApp{w: w, c: c, sector: sectors[i%len(sectors)], sectorNo: i % len(sectors)}
	early := map[applications.State]bool{applications.StateDraft: true, applications.StateSubmitted: true,
		applications.StateReturned: true, applications.StateUnderReview: true, applications.StateReviewed: true,
		applications.StateApproved: true, applications.StateContracted: true, applications.StateRejected: true,
		applications.StateWithdrawn: true}
	var start time.Time
	if early[c.State] {
		a.p = cur
		// Later stages start earlier, so that each ends in the recent past.
		back := map[applications.State]int{applications.StateContracted: 58, applications.StateApproved: 10,
			applications.StateRejected: 40, applications.StateReviewed: 9, applications.StateUnderReview: 8,
			applications.StateReturned: 10, applications.StateSubmitted: 5, applications.StateWithdrawn: 45,
			applications.StateDraft: 4}[c.State]
		start = today.AddDate(0, 0, -back)
		if c.State == applications.StateApproved {
			start = date(w.noticeApproved).AddDate(0, 0, -back)
		}
		a.amount = decimal.NewFromInt(int64(200+40*i) * 10_000)
	} else {
		a.p = old
		start = oldOpens.AddDate(0, 0, 3+i%5)
		a.amount = decimal.NewFromInt(3_000_000)
		if slices.Contains([]applications.State{applications.StateLapsed, applications.StateClosedGrant,
			applications.StateRecovery, applications.StateRecovered, applications.StateWrittenOff}, c.State) {
			a.amount = decimal.NewFromInt(2_000_000)
		}
	}
	a.t = workday(start, 9, 30+i)

	a.create()
	switch c.State {
	case applications.StateDraft:
		a.upload(2*time.Hour, 3, 1)
		a.next(oneDay, "ask for a pre-check", func(ctx context.Context) error { return w.db.AskPrecheck(ctx, w.enterprise, a.id) })
		a.next(3*time.Hour, "liaison comments", func(ctx context.Context) error {
			return w.db.AddComment(ctx, w.staff, a.id, applications.MaterialApplicationForm,
				"申请书第三部分请补充近三年研发投入明细，并写明知识产权的权属。")
		})
		return
	case applications.StateWithdrawn:
		a.upload(2*time.Hour, 4, 1)
		a.next(6*oneDay, "withdraw", func(ctx context.Context) error {
			_, err := w.db.TransitionApplication(ctx, w.enterprise, a.id, applications.StateWithdrawn, "企业调整研发方向，主动撤回", nil)
			return err
		})
		return
	}
	a.upload(2*time.Hour, -1, 1)
	a.submit(oneDay)
	if c.State == applications.StateSubmitted {
		return
	}
	if c.State == applications.StateReturned {
		a.formalReview(2*oneDay, applications.MaterialEnterpriseCreditReport)
		return
	}
	a.formalReview(2*oneDay, "")
	switch c.State {
	case applications.StateUnderReview:
		// zhuanjia's declaration and score are still due; two experts
		// have scored.
		a.panel(oneDay, append(a.eligible(1)[:4], 0), 2, 70)
		return
	case applications.StateRejected:
		a.panel(oneDay, a.eligible(i)[:5], 5, 52)
		a.next(2*oneDay, "prepare rejection", func(ctx context.Context) error {
			_, err := w.db.PrepareDecision(ctx, w.staff, a.id, applications.DecisionInput{Reason: "专家评审平均分低于合格线，技术路线与现有产品差异不足。"})
			return err
		})
		a.approveDecision(oneDay)
		return
	}
	a.panel(oneDay, a.eligible(i)[:5], 5, 80)
	if c.State == applications.StateReviewed {
		return
	}
	terms := demoTerms(5, "grant", true)
	if slices.Contains([]applications.State{applications.StateLapsed, applications.StateClosedGrant}, c.State) {
		terms = demoTerms(2, "grant", false)
	}
	if slices.Contains([]applications.State{applications.StateRecovery, applications.StateRecovered}, c.State) {
		terms = demoTerms(2, "repay", false)
	}
	a.next(2*oneDay, "prepare decision", func(ctx context.Context) error {
		_, err := w.db.PrepareDecision(ctx, w.staff, a.id, applications.DecisionInput{Approve: true, Amount: a.amount, Terms: terms})
		return err
	})
	if c.State == applications.StateApproved {
		// Approved today (or on the last working day): the notice runs.
		a.t = w.noticeApproved
		a.w.at(a.t, c.Title+": approve decision", a.approveLatest)
		return
	}
	a.approveDecision(oneDay)
	// 21 days: 5 working days of notice even across a holiday week.
	a.next(21*oneDay, "notice ends, sign the agreement", func(ctx context.Context) error {
		if _, err := w.db.CloseEndedNotices(ctx); err != nil {
			return err
		}
		doc, err := w.evidence(ctx, "投资协议（签署版）.pdf", "Investment agreement, signed and sealed")
		if err != nil {
			return err
		}
		return w.db.SignAgreement(ctx, w.staff, a.id, date(w.db.Now()), *doc)
	})
	if c.State == applications.StateContracted {
		return
	}
	a.disburse(2*oneDay, 1)
	// The second tranche waits for the mid-term check: confirmed and paid
	// a year later on the projects that went on to convert; still open on
	// the funded one (staff's next step), none on the one-tranche terms.
	if slices.Contains([]applications.State{applications.StateConversionDue, applications.StateConverted,
		applications.StateExiting, applications.StateExited}, c.State) {
		a.next(365*oneDay, "confirm mid-term milestone", func(ctx context.Context) error {
			return w.db.ConfirmMilestone(ctx, w.staff, a.id, 2, "中期检查通过（专家组现场核查）")
		})
		a.disburse(2*oneDay, 2)
	}
	switch c.State {
	case applications.StateFunded:
		return
	case applications.StateWrittenOff:
		a.next(400*oneDay, "prepare write-off", func(ctx context.Context) error {
			doc, err := w.evidence(ctx, "尽职免责认定材料.pdf", "Due-diligence exemption: core team left, line closed")
			if err != nil {
				return err
			}
			_, err = w.db.PrepareEnding(ctx, w.staff, a.id, postgres.EndingInput{Kind: postgres.EndingWriteOff,
				Reason: "核心技术团队解散，产线关停；经核查已履行勤勉尽责义务，按尽职免责核销。", ValueDate: date(w.db.Now())}, auth.NewToken(), doc)
			return err
		})
		a.approveEnding(oneDay)
		return
	case applications.StateLapsed, applications.StateClosedGrant, applications.StateRecovery, applications.StateRecovered:
		a.lapse()
		return
	}
	a.convert()
	if c.State == applications.StateConversionDue || c.State == applications.StateConverted {
		return
	}
	a.exit(60*oneDay, "0.3333", false)
	if c.State == applications.StateExited {
		a.exit(30*oneDay, "", true)
	}
}

func (a *demoApp) create() {
	w := a.w
	a.next(0, "create", func(ctx context.Context) error {
		r := w.rng
		product := pick(r, products[a.sector])
		app, err := w.db.CreateApplication(ctx, w.enterprise, applications.Application{
			ProgrammeID: a.p.ID, EnterpriseID: w.enterpriseID, Title: a.c.Title, Sector: a.sector,
			RequestedAmount: a.amount, LeadName: personName(r), LeadMobile: mobile(r),
			Content: content(r, DemoEnterpriseName, product, a.amount, w.db.Now()),
		})
		a.id = app.ID
		return err
	})
}

// upload stores version v of the first n required items (all when n < 0),
// a few minutes apart.
func (a *demoApp) upload(after time.Duration, n, v int) {
	a.next(after, "upload materials", func(ctx context.Context) error {
		items := a.p.RequiredMaterials
		if n >= 0 {
			items = items[:n]
		}
		for _, m := range items {
			a.w.tick(4 * time.Minute)
			if err := a.w.uploadItem(ctx, a.id, m, v); err != nil {
				return err
			}
		}
		return nil
	})
	a.t = a.t.Add(time.Hour)
}

func (a *demoApp) submit(after time.Duration) {
	a.next(after, "submit", func(ctx context.Context) error {
		_, err := a.w.db.TransitionApplication(ctx, a.w.enterprise, a.id, applications.StateSubmitted, "企业提交申报", a.w.db.SubmitEligibleCheck)
		return err
	})
}

// formalReview sets the liaison, judges every item and accepts the
// application into expert review, or returns it with back returned.
func (a *demoApp) formalReview(after time.Duration, back applications.Material) {
	w := a.w
	a.next(after, "liaison", func(ctx context.Context) error { return w.db.SetLiaison(ctx, w.staff, a.id, w.staff.ID) })
	a.next(time.Hour, "formal review", func(ctx context.Context) error {
		for _, m := range a.p.RequiredMaterials {
			w.tick(3 * time.Minute)
			var err error
			if m == back {
				err = w.db.ReviewMaterial(ctx, w.staff, a.id, m, false, "征信报告缺少第 3 页（信贷明细），请上传完整的报告。")
			} else {
				err = w.db.ReviewMaterial(ctx, w.staff, a.id, m, true, "")
			}
			if err != nil {
				return err
			}
		}
		w.tick(10 * time.Minute)
		var err error
		if back != "" {
			_, err = w.db.TransitionApplication(ctx, w.staff, a.id, applications.StateReturned, "形式审查：材料退回补正", postgres.ReviewOutcomeCheck(false))
		} else {
			_, err = w.db.TransitionApplication(ctx, w.staff, a.id, applications.StateUnderReview, "形式审查通过", postgres.ReviewOutcomeCheck(true))
		}
		return err
	})
}

// panel assigns the experts (indexes into DemoExperts) by hand; the first
// scored of them declare and score around level (out of 100).
func (a *demoApp) panel(after time.Duration, experts []int, scored int, level int) {
	w := a.w
	a.next(after, "assign panel", func(ctx context.Context) error {
		for _, k := range experts {
			if err := w.db.AssignExpert(ctx, w.staff, a.id, w.experts[k].ID); err != nil {
				return err
			}
		}
		return nil
	})
	for n, k := range experts[:scored] {
		ex := w.experts[k]
		a.next(5*time.Hour, "declare", func(ctx context.Context) error { return w.db.Declare(ctx, ex, a.id, ex.ID, false, "") })
		a.next(20*time.Minute, "score", func(ctx context.Context) error {
			return w.db.SubmitReview(ctx, ex, a.id, ex.ID, a.review(level+3*(n%3)-3))
		})
	}
	if scored < len(experts) {
		ex := w.experts[experts[len(experts)-2]]
		a.next(3*time.Hour, "declare only", func(ctx context.Context) error { return w.db.Declare(ctx, ex, a.id, ex.ID, false, "") })
	}
}

// review scores every criterion at about level percent of its weight, in
// half points.
func (a *demoApp) review(level int) applications.ReviewInput {
	in := applications.ReviewInput{Scores: map[string]decimal.Decimal{}, Comments: map[string]string{}}
	half := decimal.RequireFromString("0.5")
	for _, c := range a.p.Criteria {
		s := decimal.NewFromInt(c.Weight.IntPart() * int64(level) / 50).Mul(half) // level% of the weight, in half points
		in.Scores[c.Code] = decimal.Min(s, c.Weight)
	}
	in.Recommendation = applications.RecommendApprove
	in.Overall = "技术路线清晰，团队具备产业化经验，建议支持。"
	if level < 70 {
		in.Recommendation = applications.RecommendReject
		in.Overall = "创新性不足，市场分析过于乐观，不建议支持。"
	} else {
		in.SuggestedAmount = decimal.NewNullDecimal(a.amount)
	}
	return in
}

func (a *demoApp) approveDecision(after time.Duration) {
	a.next(after, "approve decision", a.approveLatest)
}

func (a *demoApp) approveLatest(ctx context.Context) error {
	ds, err := a.w.db.ListDecisions(ctx, a.id)
	if err != nil {
		return err
	}
	if len(ds) == 0 {
		return fmt.Errorf("no decision to approve")
	}
	return a.w.db.ApproveDecision(ctx, a.w.approver, ds[0].ID)
}

// disburse records tranche no of the plan in full and has it approved.
func (a *demoApp) disburse(after time.Duration, no int) {
	w := a.w
	var id int64
	a.next(after, "record disbursement", func(ctx context.Context) error {
		plan, err := w.db.DisbursementPlan(ctx, a.id)
		if err != nil {
			return err
		}
		if no > len(plan.Tranches) {
			return fmt.Errorf("the plan has no tranche %d", no)
		}
		d, err := w.db.RecordDisbursement(ctx, w.staff, applications.DisbursementInput{ApplicationID: a.id, Tranche: no,
			Amount: plan.Tranches[no-1].Remaining(), ValueDate: date(w.db.Now()), Reference: fmt.Sprintf("BOC-%d-%02d", a.id, no),
			IdempotencyKey: auth.NewToken()})
		id = d.ID
		return err
	})
	a.next(2*time.Hour, "approve disbursement", func(ctx context.Context) error {
		_, err := w.db.ApproveDisbursement(ctx, w.approver, id, auth.NewToken())
		return err
	})
}

// lapse lets the two-year window end, then ends the project as its
// state asks.
func (a *demoApp) lapse() {
	w := a.w
	c := a.c.State
	// The window ends two years after signing; the sweep runs the next day.
	a.t = a.t.Add(2*365*oneDay + 3*oneDay)
	a.next(0, "window ends", func(ctx context.Context) error {
		_, err := w.db.EvaluateLapses(ctx)
		return err
	})
	if c == applications.StateLapsed {
		return
	}
	kind := postgres.EndingGrant
	reason := "按协议转为无偿资助结题（结题验收通过）。"
	if c != applications.StateClosedGrant {
		kind, reason = postgres.EndingRepay, "协议约定到期未转股须退还，启动追回。"
	}
	if kind == postgres.EndingGrant {
		// DOMAIN §16: a lapse closes as a grant only after a passed acceptance.
		a.next(5*oneDay, "record acceptance", func(ctx context.Context) error {
			report, err := w.evidence(ctx, "结题验收报告.pdf", fmt.Sprintf("Acceptance report, application %d", a.id))
			if err != nil {
				return err
			}
			_, err = w.db.RecordAcceptance(ctx, w.staff, a.id, applications.AcceptanceInput{AcceptedOn: date(w.db.Now()),
				Result: applications.AcceptancePassed}, auth.NewToken(), report, nil)
			return err
		})
	}
	a.next(10*oneDay, "prepare "+kind, func(ctx context.Context) error {
		_, err := w.db.PrepareEnding(ctx, w.staff, a.id, postgres.EndingInput{Kind: kind, Reason: reason, ValueDate: date(w.db.Now())}, auth.NewToken(), nil)
		return err
	})
	a.approveEnding(oneDay)
	if c == applications.StateClosedGrant {
		return
	}
	received := "500000.00"
	if c == applications.StateRecovered {
		received = a.amount.StringFixed(2)
	}
	a.next(20*oneDay, "record receipt", func(ctx context.Context) error {
		_, err := w.db.PrepareEnding(ctx, w.staff, a.id, postgres.EndingInput{Kind: postgres.EndingReceipt,
			Amount: decimal.RequireFromString(received), Reason: "企业退还先投资金（银行回单）", ValueDate: date(w.db.Now())}, auth.NewToken(), nil)
		return err
	})
	a.approveEnding(oneDay)
}

func (a *demoApp) approveEnding(after time.Duration) {
	a.next(after, "approve ending", func(ctx context.Context) error {
		es, err := a.w.db.ListEndings(ctx, a.id)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return fmt.Errorf("no ending to approve")
		}
		return a.w.db.ApproveEnding(ctx, a.w.approver, es[0].ID)
	})
}

// convert reports and verifies a financing round about 20 months after
// signing, then (unless the state is conversion_due) prepares, approves
// and registers the conversion.
func (a *demoApp) convert() {
	w := a.w
	var evID int64
	a.t = a.t.Add(200 * oneDay)
	a.next(0, "report financing round", func(ctx context.Context) error {
		doc, err := w.evidence(ctx, "A轮融资交割证明.pdf", "Series A closing statement")
		if err != nil {
			return err
		}
		evID, err = w.db.ReportEvent(ctx, w.enterprise, applications.TriggerEvent{ApplicationID: a.id, Kind: applications.EventFinancing,
			EventDate: date(w.db.Now().Add(-5 * oneDay)), Investors: "蒙元创业投资基金、北方硬科技基金", NewMoney: decimal.RequireFromString("20000000"),
			PreMoneyValuation: decimal.RequireFromString("80000000"), PreMoneyUnits: decimal.RequireFromString("1000000"),
			Unit: conversion.UnitRegisteredCapital}, doc)
		return err
	})
	a.next(2*oneDay, "verify event", func(ctx context.Context) error { return w.db.VerifyEvent(ctx, w.staff, evID, true, "") })
	if a.c.State == applications.StateConversionDue {
		return
	}
	a.next(3*oneDay, "prepare conversion", func(ctx context.Context) error {
		var err error
		a.convID, err = w.db.PrepareConversion(ctx, w.staff, a.id, "", auth.NewToken())
		return err
	})
	a.next(oneDay, "approve conversion", func(ctx context.Context) error { return w.db.ApproveConversion(ctx, w.approver, a.convID) })
	a.next(20*oneDay, "record registration", func(ctx context.Context) error {
		doc, err := w.evidence(ctx, "工商变更登记通知书.pdf", "Registration of the change of shareholders")
		if err != nil {
			return err
		}
		return w.db.RecordRegistration(ctx, w.staff, a.convID, date(w.db.Now().Add(-2*oneDay)), doc)
	})
}

// exit sells a fraction of the holding (or the rest) back to the founders.
func (a *demoApp) exit(after time.Duration, fraction string, rest bool) {
	w := a.w
	var id int64
	a.next(after, "prepare exit", func(ctx context.Context) error {
		var err error
		id, err = w.db.PrepareExit(ctx, w.staff, a.id, postgres.ExitInput{Date: date(w.db.Now()), Fraction: fraction, Rest: rest,
			BuyerKind: "founders", Buyer: "创始团队（回购）"}, auth.NewToken())
		return err
	})
	a.next(oneDay, "approve exit", func(ctx context.Context) error { return w.db.ApproveExit(ctx, w.approver, id) })
}

// eligible lists the experts (indexes into DemoExperts) whose sectors
// cover the application's, rotated by from; zhuanjia (0) comes last.
func (a *demoApp) eligible(from int) []int {
	var ks []int
	for k := 1; k < len(DemoExperts); k++ {
		if k != a.sectorNo {
			ks = append(ks, k)
		}
	}
	from %= len(ks)
	ks = append(ks[from:], ks[:from]...)
	if a.sectorNo != 0 {
		ks = append(ks, 0)
	}
	return ks
}

// demoTerms are the programme's default terms with the window and lapse
// policy set; milestone adds the mid-term check before tranche 2 (else
// one tranche of the whole amount).
func demoTerms(windowYears int, lapse string, milestone bool) []byte {
	var t applications.Terms
	if err := json.Unmarshal(applications.DefaultTermsTemplate(), &t); err != nil {
		panic(err) // the default template is valid JSON
	}
	t.WindowYears, t.LapsePolicy = windowYears, lapse
	if !milestone {
		t.Tranches = []applications.TrancheTerm{{Share: "1", MonthsAfterSigning: 0}}
	}
	b, _ := json.Marshal(t)
	return b
}

// uploadItem stores version v of item m through blob.Ingest (sensitive
// items encrypted) and records it, with the value the item carries.
func (w *world) uploadItem(ctx context.Context, appID int64, m applications.Material, v int) error {
	now := w.db.Now()
	d := applications.Document{ApplicationID: appID, Item: m, Filename: fileName(m, v)}
	body := syntheticPDF([]string{"ITE demo document - generated, not a real record",
		fmt.Sprintf("Application %d, item %s, version %d", appID, m, v), "Uploaded " + now.Format(time.RFC3339)})
	switch m.Field() {
	case applications.FieldUSCCOnItem:
		d.USCC = DemoEnterpriseUSCC
	case applications.FieldIDOnItem:
		id := applications.ExampleIDNumber(int(appID)*7+len(m), time.Date(1980, 5, 17, 0, 0, 0, 0, time.UTC))
		sealed, err := blob.SealValue(w.o.Crypto, w.o.MasterKey, []byte(id))
		if err != nil {
			return err
		}
		d.IDMasked, d.IDCipher = applications.MaskIDNumber(id), sealed
		body = syntheticPNG(w.rng)
	case applications.FieldIssueOnItem:
		d.IssueDate = date(now).AddDate(0, 0, -12)
	}
	meta, key, err := w.ingest(ctx, body, m.Sensitive())
	if err != nil {
		return err
	}
	setMeta(&d, key, meta)
	if _, err := w.db.AddDocument(ctx, w.enterprise, d); err != nil {
		_ = w.o.Blobs.Delete(context.WithoutCancel(ctx), key)
		return err
	}
	return nil
}

// evidence stores a small PDF as an evidence file, for the store method
// that records it in its own transaction.
func (w *world) evidence(ctx context.Context, filename, text string) (*applications.Document, error) {
	meta, key, err := w.ingest(ctx, syntheticPDF([]string{"ITE demo document - generated, not a real record", text}), false)
	if err != nil {
		return nil, err
	}
	d := &applications.Document{Filename: filename}
	setMeta(d, key, meta)
	return d, nil
}

func (w *world) ingest(ctx context.Context, body []byte, encrypt bool) (blob.Meta, string, error) {
	key := blob.NewKey("docs", w.db.Now())
	meta, err := blob.Ingest(ctx, w.o.Blobs, key, bytes.NewReader(body), blob.IngestOptions{Encrypt: encrypt, MasterKey: w.o.MasterKey, Suite: w.o.Crypto})
	return meta, key, err
}

func setMeta(d *applications.Document, key string, m blob.Meta) {
	d.BlobKey, d.Kind, d.Size, d.SHA256 = key, m.Kind, m.Size, m.SHA256
	d.Encrypted, d.EncAlg, d.WrappedKey = m.Encrypted, m.Algorithm, m.WrappedKey
}
