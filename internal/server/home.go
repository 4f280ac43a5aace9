package server

import (
	"context"
	"fmt"
	"net/http"
	"sync"
	"time"

	"ite/internal/applications"
	"ite/internal/auth"
	"ite/internal/day"
	"ite/internal/pagecache"
	"ite/internal/postgres"
	"ite/web/layout"
	"ite/web/page"
)

// homeRoutes: each role's start page.
func (s *Server) homeRoutes() []route {
	return []route{
		{"GET", "/", can(applications.ActionViewHome).inMenu(navHome, "首页"), s.handleHome},
	}
}

// duties says, per role, what the role does in the programme (DOMAIN §2).
var duties = map[applications.Role][]string{
	applications.RoleEnterprise: {
		"登记企业信息，起草并提交项目申报；",
		"上传营业执照、身份证复印件、征信报告、诚信承诺书、真实性声明等材料，按退回意见补正；",
		"报告融资、营业收入和项目进展，查看本企业项目的协议条款、转股与退出测算。",
	},
	applications.RoleStaff: {
		"专人对接申报企业，预审草稿，形式审查材料并逐项退回或通过；",
		"组织专家评审，拟定立项决定、拨付、转股和退出方案，报审批人审批。",
	},
	applications.RoleApprover: {
		"审批经办人员拟定的立项决定、超限额例外、拨付、转股、退出和核销；",
		"不能审批本人经办的事项（经办与审批分离）。",
	},
	applications.RoleExpert: {
		"查看分配给您的项目前先声明是否存在利益冲突，需要回避时说明理由；",
		"按评审标准逐项打分、填写意见并给出推荐结论，提交后不可修改。",
	},
	applications.RoleAuditor: {
		"查阅全部记录、台账、审计日志，导出报表；",
		"校验审计日志与台账哈希链的完整性；审计人员不能修改任何数据。",
	},
	applications.RoleAdmin: {
		"管理用户账号、角色和企业绑定，重置密码，停用账号；",
		"管理申报批次设置；系统管理员不能审批或动用资金，不能解锁账号或修改安全策略。",
	},
	applications.RoleTrustee: {
		"查看本机构受托持有的已转股项目、股权台账和协议条款；",
		"按退出计划拟定退出方案（受让方、评估、挂牌），报审批人审批；登记已批准退出的回款。看不到转股前的申报和身份证、征信报告等敏感材料。",
	},
	applications.RoleSecurityAdmin: {
		"设置安全策略：密码规则与有效期、双因素认证、会话超时；",
		"解锁被锁定的账号，为丢失手机的用户重置双因素认证，查看安全事件；安全管理员不能管理业务数据或审批。",
	},
}

// handleHome is each role's start page: its to-do lists (GET /).
func (s *Server) handleHome(w http.ResponseWriter, r *http.Request) error {
	u := currentUser(r)
	nav := layout.Nav(r.Context())
	if len(nav) > 0 {
		nav = nav[1:] // the home link itself
	}
	todo, err := s.cachedToDo(r.Context(), &s.todoLists, "list", *u, postgres.ToDoListTables(u.Role), justWrote(r), s.DB.ListToDo)
	if err != nil {
		return err
	}
	return s.render(w, r, http.StatusOK, page.Home(page.HomeView{
		Greeting: u.DisplayName + "，您好",
		RoleName: u.Role.Label(),
		ToDo:     todo,
		Now:      s.Now().Unix(),
		Duties:   duties[u.Role],
		Links:    nav,
	}))
}

// todoCounts is the layout's source of menu counts: the user's to-do total
// beside the home link. It counts at most once per request, only when a
// page is rendered (a page served from the page cache does not ask), and
// reuses a count made at the same version of the tables it reads
// (postgres.ToDoTables, pagecache.Generations.Only: a comment, a login or
// an audit row does not move it) and China day, unless the browser has
// just written.
func (s *Server) todoCounts(r *http.Request) layout.Counts {
	fresh := justWrote(r)
	var once sync.Once
	var counts map[string]int
	return func(ctx context.Context) map[string]int {
		once.Do(func() {
			sess := sessionFrom(ctx)
			if sess == nil {
				return
			}
			todo, err := s.cachedToDo(ctx, &s.todoCache, "count", sess.User, postgres.ToDoTables(sess.User.Role), fresh, s.DB.CountToDo)
			if err != nil {
				if ctx.Err() == nil { // not a request the browser gave up on
					s.Logger.Error("count to-do", "err", err, "user_id", sess.User.ID)
				}
				return
			}
			counts = map[string]int{"/": todo.Total()}
		})
		return counts
	}
}

// todoMaxAge bounds how long a kept to-do result is used: the lists also
// depend on the clock (an account's lock ends, a deadline passes at
// midnight, which the day in the key covers), not only on the tables.
const todoMaxAge = time.Minute

// todoEntry is a value of Server.todoCache or Server.todoLists (by user
// ID): what read returned for who on a China day at a version of its
// tables. One entry per user: a later read replaces it.
type todoEntry struct {
	who  todoWho
	gen  pagecache.Version
	day  string
	at   time.Time
	todo postgres.ToDo
}

// todoWho is what of the user the to-do statements depend on besides the
// tables: the role (which lists), and the enterprise and the platform
// (their parameters). The session reads them afresh on every request, so
// a user moved to another enterprise never sees the old one's lists.
type todoWho struct {
	id, enterprise int64
	role           applications.Role
	platform       string
}

// cachedToDo returns read's result for u, reusing the one in cache made for
// the same todoWho at the same version of tables (those read's statements
// name), China day and within todoMaxAge, unless fresh. Right after a
// commit every open page of the user misses at once: the first reads, and
// the others meanwhile get the result before the commit if there is one
// (it is at most one read older than theirs would be), or wait for the
// first one's. The invariants are the tests': TestToDoListsKeptAcrossUnrelatedCommits
// (kept across other tables' commits, read again after its own, afresh
// for the writer), TestToDoCountReadsOnlyToDoTables (the tables are all
// the statements read), TestToDoListWhileAnotherReads (the previous entry
// meanwhile) and TestToDoListFollowsTheUsersEnterprise (the key holds who).
func (s *Server) cachedToDo(ctx context.Context, cache *sync.Map, what string, u auth.User, tables []string, fresh bool,
	read func(context.Context, auth.User) (postgres.ToDo, error)) (postgres.ToDo, error) {
	now := s.Now()
	today := day.Today(now).Format("20060102")
	who := todoWho{id: u.ID, enterprise: u.EnterpriseID, role: u.Role, platform: u.Platform}
	gen, known := s.gens.Only(tables...)
	if !known {
		return read(ctx, u)
	}
	var previous *todoEntry
	if c, ok := cache.Load(u.ID); ok && !fresh {
		e := c.(todoEntry)
		if e.who == who && e.day == today && now.Sub(e.at) < todoMaxAge {
			if e.gen == gen {
				return e.todo, nil
			}
			previous = &e
		}
	}
	key := todoFlightKey(what, who, gen, today)
	f := &todoFlight{done: make(chan struct{})}
	if other, reading := s.todoFlights.LoadOrStore(key, f); reading && !fresh {
		if previous != nil {
			return previous.todo, nil
		}
		of := other.(*todoFlight)
		select {
		case <-of.done:
			if of.err == nil {
				return of.todo, nil
			}
		case <-ctx.Done():
			return postgres.ToDo{}, ctx.Err()
		}
	} else if !reading {
		defer func() {
			s.todoFlights.Delete(key)
			close(f.done)
		}()
		// Others wait for this read: a closed tab must not end it.
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
	}
	todo, err := read(ctx, u)
	if err == nil {
		cache.Store(u.ID, todoEntry{who: who, gen: gen, day: today, at: now, todo: todo})
	}
	f.todo, f.err = todo, err
	return todo, err
}

// todoFlightKey names the read of what for who at a version and day in
// Server.todoFlights.
func todoFlightKey(what string, who todoWho, gen pagecache.Version, today string) string {
	return fmt.Sprintf("%s %+v %v %s", what, who, gen, today)
}

// todoFlight is a read in progress (Server.todoFlights, by what, user,
// version and day): those who ask for the same meanwhile use its result.
type todoFlight struct {
	done chan struct{}
	todo postgres.ToDo
	err  error
}
