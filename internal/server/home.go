package server

import (
	"context"
	"errors"
	"net/http"
	"sync"

	"ite/internal/applications"
	"ite/internal/day"
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
	todo, err := s.DB.ListToDo(r.Context(), *u)
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
// reuses a count made at the same data generation and China day (any
// commit anywhere moves the generation, see pagecache.go), unless the
// browser has just written (freshCookie): then it counts afresh.
func (s *Server) todoCounts(r *http.Request) layout.Counts {
	fresh := false
	if c, err := r.Cookie(freshCookie); err == nil && c.Value != "" {
		fresh = true
	}
	var once sync.Once
	var counts map[string]int
	return func(ctx context.Context) map[string]int {
		once.Do(func() {
			sess := sessionFrom(ctx)
			if sess == nil {
				return
			}
			today := day.Today(s.Now()).Format("20060102")
			gen, known := s.gens.Current()
			if c, ok := s.todoCache.Load(sess.User.ID); ok && known && !fresh && c.(todoCount) == (todoCount{gen: gen, day: today, total: c.(todoCount).total}) {
				counts = map[string]int{"/": c.(todoCount).total}
				return
			}
			// One count per user, generation and day at a time: right
			// after a commit every open page of the user misses at once,
			// and the others wait for the first one's count.
			key := todoCount{gen: gen, day: today, total: int(sess.User.ID)}
			if known && !fresh {
				f := &todoFlight{done: make(chan struct{})}
				if other, loaded := s.todoFlights.LoadOrStore(key, f); loaded {
					of := other.(*todoFlight)
					<-of.done
					if of.err == nil {
						counts = map[string]int{"/": of.total}
						return
					}
				} else {
					defer func() {
						if counts == nil {
							f.err = errNoCount
						} else {
							f.total = counts["/"]
						}
						s.todoFlights.Delete(key)
						close(f.done)
					}()
				}
			}
			todo, err := s.DB.CountToDo(ctx, sess.User)
			if err != nil {
				s.Logger.Error("count to-do", "err", err, "user_id", sess.User.ID)
				return
			}
			counts = map[string]int{"/": todo.Total()}
			if known {
				s.todoCache.Store(sess.User.ID, todoCount{gen: gen, day: today, total: todo.Total()})
			}
		})
		return counts
	}
}

// todoFlight is a to-do count in progress (Server.todoFlights, keyed by
// a todoCount holding the user's ID as its total): those who ask for the
// same count meanwhile wait for its result instead of counting too.
type todoFlight struct {
	done  chan struct{}
	total int
	err   error
}

var errNoCount = errors.New("to-do count failed")

// todoCount is a value of Server.todoCache (by user ID): the user's to-do
// total on a China day at a data generation. One entry per user: a later
// count replaces it.
type todoCount struct {
	gen   uint64
	day   string
	total int
}
