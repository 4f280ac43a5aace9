// Command loadgen drives a running ITE server over loopback with signed-in
// clients and reports throughput and latency per page as a Markdown table
// (`make bench`, docs/PERFORMANCE.md "Load: 32 concurrent clients").
//
// One client signs in through the real login form, with the TOTP code of
// the second step (issue 16: a code is accepted once, so 32 sign-ins would
// take minutes), and every client gets its session cookie in its own
// cookie jar. Every scenario runs for a
// fixed duration (or request count, whichever ends first) with all
// clients requesting back to back. The ceiling is a bare chi handler that
// writes "ok", started in this process on another loopback port and
// measured in the same run; each page's throughput is reported as a
// ratio of it.
//
// Only loopback targets are accepted: this is a benchmark, not a load
// test of someone else's server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/pquerna/otp/totp"
)

// demoPassword is seed.DemoPassword, repeated here so that loadgen does not
// link the database packages (whose init work would skew the client).
const demoPassword = "Demo@2026ite"

// demoTOTPSecret is the demo staff account's published second-factor
// secret (seed.DemoLogins), repeated for the same reason.
const demoTOTPSecret = "PUOL2S3YGPWYC4ZR7MA2J3IZ5WK4PN5C"

// demoApproverTOTPSecret is the demo approver's (shenpi), for the
// approver's home page: its to-do lists are other statements than staff's.
const demoApproverTOTPSecret = "7IEN3ACG4SGXUXA7KIXBPBTRWUB65KG3"

// maxDuration bounds a scenario: the harness never runs unbounded.
const maxDuration = 5 * time.Minute

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		stop()
		os.Exit(1)
	}
}

type options struct {
	target   *url.URL
	clients  int
	duration time.Duration
	requests int
	warmup   time.Duration
	username string
	password string
	totp     string         // the user's TOTP secret
	session  []*http.Cookie // the signed-in session every client shares
	// approver, approverTOTP sign in the clients of approver_home (the
	// approver's to-do home page); same password.
	approver, approverTOTP string
	ids                    []int64
	scenarios              []string
	// writes is how many commits per second a separate signed-in client
	// makes while each scenario runs (a staff comment on an application),
	// to measure the pages while the data changes; 0 for read-only load.
	writes float64
	// writeKind is what the writer commits: "comment" (a coaching comment:
	// no to-do list reads comments) or "liaison" (it assigns itself as
	// the application's liaison: an UPDATE of applications, which every
	// staff to-do list reads, so each commit makes the staff home pages
	// read their lists again).
	writeKind string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	fs.SetOutput(stderr)
	target := fs.String("target", "http://127.0.0.1:8080", "the server (loopback only: 127.0.0.1, localhost or [::1])")
	clients := fs.Int("clients", 32, "concurrent signed-in clients")
	duration := fs.Duration("duration", 15*time.Second, "measured time per scenario (at most 5m)")
	requests := fs.Int("requests", 0, "stop a scenario after this many requests (0: duration only)")
	warmup := fs.Duration("warmup", 2*time.Second, "unmeasured load before each scenario")
	username := fs.String("user", "jingban", "staff username (the demo staff account by default)")
	password := fs.String("password", demoPassword, "its password")
	totpSecret := fs.String("totp", demoTOTPSecret, "its TOTP secret (base32), for the code of the second sign-in step")
	idList := fs.String("ids", "", "comma-separated application IDs for the application page (default: the first queue page of each state, as the signed-in staff user sees the queue)")
	scenarioList := fs.String("scenarios", "bare,queue,application,dashboard,journal,home,approver_home", "scenarios to run, in order")
	approver := fs.String("approver", "shenpi", "approver username for approver_home (the demo approver by default)")
	approverTOTP := fs.String("approver-totp", demoApproverTOTPSecret, "the approver's TOTP secret (base32)")
	writes := fs.Float64("writes", 0, "commits per second during each scenario (staff comments, from one more client); 0: read-only")
	writeKind := fs.String("write-kind", "comment", "what the writer commits: comment (a coaching comment) or liaison (assigns the application's liaison: a write to applications)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	o := options{clients: *clients, duration: *duration, requests: *requests, warmup: *warmup,
		username: *username, password: *password, totp: *totpSecret, scenarios: strings.Split(*scenarioList, ","), writes: *writes,
		writeKind: *writeKind,
		approver:  *approver, approverTOTP: *approverTOTP}
	var err error
	if o.target, err = loopback(*target); err != nil {
		return err
	}
	switch {
	case o.clients < 1 || o.clients > 1024:
		return errors.New("-clients must be 1 to 1024")
	case o.duration <= 0 || o.duration > maxDuration:
		return fmt.Errorf("-duration must be positive and at most %s", maxDuration)
	case o.warmup < 0 || o.warmup > time.Minute:
		return errors.New("-warmup must be 0 to 1m")
	case o.requests < 0:
		return errors.New("-requests must not be negative")
	case o.writes < 0 || o.writes > 1000:
		return errors.New("-writes must be 0 to 1000 per second")
	case o.writeKind != "comment" && o.writeKind != "liaison":
		return errors.New("-write-kind must be comment or liaison")
	}
	for _, s := range strings.Split(*idList, ",") {
		if s = strings.TrimSpace(s); s == "" {
			continue
		}
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id < 1 {
			return fmt.Errorf("-ids: %q is not an application ID", s)
		}
		o.ids = append(o.ids, id)
	}
	for _, s := range o.scenarios {
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("unknown scenario %q (known: %s)", s, strings.Join(allScenarios, ", "))
		}
	}
	return bench(ctx, o, stdout, stderr)
}

// allScenarios: home and approver_home are the to-do home pages (GET /,
// ListToDo plus the navigation's CountToDo) of the staff user and of an
// approver.
var allScenarios = []string{"bare", "queue", "application", "dashboard", "journal", "home", "approver_home"}

// loopback parses the target and refuses anything but plain HTTP to a
// loopback name or address.
func loopback(raw string) (*url.URL, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("-target: %w", err)
	}
	if u.Scheme != "http" {
		return nil, fmt.Errorf("-target %q: only http:// is supported", raw)
	}
	switch u.Hostname() {
	case "127.0.0.1", "localhost", "::1":
	default:
		return nil, fmt.Errorf("-target %q: only loopback targets (127.0.0.1, localhost, [::1]) are allowed", raw)
	}
	u.Path, u.RawQuery, u.Fragment = "", "", ""
	return u, nil
}

// client is one signed-in browser: its own cookie jar and session.
type client struct {
	hc *http.Client
}

func newTransport(clients int) *http.Transport {
	return &http.Transport{
		Proxy:               nil, // loopback only, never through a proxy
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        2 * clients,
		MaxIdleConnsPerHost: 2 * clients,
		IdleConnTimeout:     90 * time.Second,
	}
}

func newClient(tr http.RoundTripper) *client {
	jar, _ := cookiejar.New(nil)
	return &client{hc: &http.Client{Transport: tr, Jar: jar, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

var csrfInput = regexp.MustCompile(`name="csrf_token"[^>]*value="([^"]+)"|value="([^"]+)"[^>]*name="csrf_token"`)

// login signs in through the login form: GET /login for the pre-session
// cookie and token, then POST /login, which answers 303 on success; when
// it leads to the code page, the code of totpSecret is posted there.
func (c *client) login(ctx context.Context, base *url.URL, username, password, totpSecret string) error {
	body, status, err := c.get(ctx, base.String()+"/login")
	if err != nil {
		return err
	}
	if status != http.StatusOK {
		return fmt.Errorf("GET /login: status %d", status)
	}
	m := csrfInput.FindSubmatch(body)
	if m == nil {
		return errors.New("GET /login: no csrf_token in the form")
	}
	tok := html.UnescapeString(string(m[1]) + string(m[2]))
	form := url.Values{"username": {username}, "password": {password}, "csrf_token": {tok}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base.String()+"/login", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := c.hc.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST /login as %s: status %d (want 303; is the user seeded?)", username, resp.StatusCode)
	}
	if resp.Header.Get("Location") != "/login/code" {
		return nil
	}
	body, status, err = c.get(ctx, base.String()+"/login/code")
	if err != nil {
		return err
	}
	m = csrfInput.FindSubmatch(body)
	if status != http.StatusOK || m == nil {
		return fmt.Errorf("GET /login/code: status %d", status)
	}
	code, err := totp.GenerateCode(totpSecret, time.Now())
	if err != nil {
		return fmt.Errorf("-totp: %w", err)
	}
	form = url.Values{"code": {code}, "csrf_token": {html.UnescapeString(string(m[1]) + string(m[2]))}}
	req, err = http.NewRequestWithContext(ctx, http.MethodPost, base.String()+"/login/code", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if resp, err = c.hc.Do(req); err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		return fmt.Errorf("POST /login/code as %s: status %d (wrong -totp secret, or its code used in the last 30 s)", username, resp.StatusCode)
	}
	return nil
}

func (c *client) get(ctx context.Context, u string) ([]byte, int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, 0, err
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, 0, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return b, resp.StatusCode, err
}

// hit is one measured request: reads the whole body, so the latency is
// client to last byte.
func (c *client) hit(ctx context.Context, u string) (time.Duration, bool) {
	start := time.Now()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return 0, false
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return time.Since(start), false
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return time.Since(start), err == nil && resp.StatusCode == http.StatusOK
}

var (
	appLink     = regexp.MustCompile(`href="/applications/(\d+)"`)
	stateSelect = regexp.MustCompile(`(?s)name="state".*?</select>`)
	optionValue = regexp.MustCompile(`<option[^>]* value="([a-z_]+)"`)
)

// discoverIDs reads application IDs from the first queue page of every
// state (up to 50 each), so that the application page is asked in each
// state the data holds, with the sections that state shows (the queue's
// oldest pages alone are almost all drafts).
func discoverIDs(ctx context.Context, c *client, base *url.URL) ([]int64, error) {
	var ids []int64
	seen := map[int64]bool{}
	// The states are the queue's own filter options, as a person picks
	// them (loadgen links no server package).
	paths := []string{"/applications"}
	for i := 0; i < len(paths); i++ {
		path := paths[i]
		body, status, err := c.get(ctx, base.String()+path)
		if err != nil {
			return nil, err
		}
		if status != http.StatusOK {
			return nil, fmt.Errorf("GET %s: status %d", path, status)
		}
		if i == 0 {
			for _, m := range optionValue.FindAllSubmatch(stateSelect.Find(body), -1) {
				paths = append(paths, "/applications?state="+url.QueryEscape(string(m[1])))
			}
			if len(paths) == 1 {
				return nil, errors.New("the queue page has no state filter to sample the states by")
			}
			continue
		}
		for _, m := range appLink.FindAllSubmatch(body, -1) {
			id, _ := strconv.ParseInt(string(m[1]), 10, 64)
			if !seen[id] {
				seen[id] = true
				ids = append(ids, id)
			}
		}
	}
	return ids, nil
}

// startBare serves the ceiling: a chi router with one handler writing
// "ok", on a loopback port of its own.
func startBare() (string, func(), error) {
	r := chi.NewRouter()
	r.Get("/", func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) })
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	srv := &http.Server{Handler: r, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String() + "/", func() { _ = srv.Close() }, nil
}

// result is one scenario's outcome.
type result struct {
	name, path string
	requests   int
	errors     int
	elapsed    time.Duration
	latencies  []time.Duration // sorted
	// commits made by the writer meanwhile (-writes), and its failures
	writes, writeErrors int
}

func (r result) rate() float64 {
	if r.elapsed <= 0 {
		return 0
	}
	return float64(r.requests) / r.elapsed.Seconds()
}

// quantile is the nearest-rank q-quantile of the sorted latencies.
func (r result) quantile(q float64) time.Duration {
	n := len(r.latencies)
	if n == 0 {
		return 0
	}
	i := int(q*float64(n)+0.999999) - 1
	return r.latencies[min(max(i, 0), n-1)]
}

// drive runs one scenario: every client requests urlFor(client, k) back to
// back, first for the warm-up (unmeasured), then until the duration is up
// or o.requests have been sent.
func drive(ctx context.Context, o options, clients []*client, name, path string, urlFor func(w, k int) string) result {
	if o.warmup > 0 {
		wctx, cancel := context.WithTimeout(ctx, o.warmup)
		var wg sync.WaitGroup
		for w, c := range clients {
			wg.Go(func() {
				for k := 0; wctx.Err() == nil; k++ {
					c.hit(wctx, urlFor(w, k))
				}
			})
		}
		wg.Wait()
		cancel()
	}
	mctx, cancel := context.WithTimeout(ctx, o.duration)
	defer cancel()
	var (
		mu      sync.Mutex
		all     []time.Duration
		errs    int
		started int
	)
	budget := func() bool { // reserves one request of the -requests budget
		if o.requests == 0 {
			return true
		}
		mu.Lock()
		defer mu.Unlock()
		if started >= o.requests {
			return false
		}
		started++
		return true
	}
	start := time.Now()
	var wg sync.WaitGroup
	for w, c := range clients {
		wg.Go(func() {
			lat := make([]time.Duration, 0, 1024)
			bad := 0
			for k := 0; mctx.Err() == nil && budget(); k++ {
				d, ok := c.hit(mctx, urlFor(w, k))
				if mctx.Err() != nil && !ok {
					break // cut off by the deadline: not the server's error
				}
				lat = append(lat, d)
				if !ok {
					bad++
				}
			}
			mu.Lock()
			all = append(all, lat...)
			errs += bad
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	slices.Sort(all)
	return result{name: name, path: path, requests: len(all), errors: errs, elapsed: elapsed, latencies: all}
}

func bench(ctx context.Context, o options, stdout, stderr io.Writer) error {
	base := o.target.String()
	tr := newTransport(o.clients)
	defer tr.CloseIdleConnections()

	// Sign in once (password, then the TOTP code) and share the session.
	t0 := time.Now()
	first := newClient(tr)
	if err := first.login(ctx, o.target, o.username, o.password, o.totp); err != nil {
		return err
	}
	o.session = first.hc.Jar.Cookies(o.target)
	clients := make([]*client, o.clients)
	for i := range clients {
		clients[i] = newClient(tr)
		clients[i].hc.Jar.SetCookies(o.target, o.session)
	}
	fmt.Fprintf(stderr, "loadgen: %d clients signed in as %s in %s\n", o.clients, o.username, time.Since(t0).Round(time.Millisecond))

	ids := o.ids
	if len(ids) == 0 && (slices.Contains(o.scenarios, "application") || o.writes > 0) {
		var err error
		if ids, err = discoverIDs(ctx, clients[0], o.target); err != nil {
			return fmt.Errorf("discovering application IDs: %w", err)
		}
		if len(ids) == 0 {
			return errors.New("the queue lists no applications: seed some (server seed -synthetic N) or pass -ids")
		}
		fmt.Fprintf(stderr, "loadgen: %d application IDs from the queue\n", len(ids))
	}

	var approvers []*client
	if slices.Contains(o.scenarios, "approver_home") {
		a := newClient(tr)
		if err := a.login(ctx, o.target, o.approver, o.password, o.approverTOTP); err != nil {
			return err
		}
		cookies := a.hc.Jar.Cookies(o.target)
		approvers = make([]*client, o.clients)
		for i := range approvers {
			approvers[i] = newClient(tr)
			approvers[i].hc.Jar.SetCookies(o.target, cookies)
		}
		fmt.Fprintf(stderr, "loadgen: %d clients signed in as %s\n", o.clients, o.approver)
	}

	var w *writer
	if o.writes > 0 {
		var err error
		if w, err = newWriter(ctx, tr, o, ids); err != nil {
			return err
		}
	}
	var results []result
	for _, s := range o.scenarios {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		stopWrites := w.start(ctx, s != "bare")
		var r result
		switch s {
		case "bare":
			u, stopBare, err := startBare()
			if err != nil {
				return err
			}
			r = drive(ctx, o, clients, "bare chi handler (ceiling)", "/ (in loadgen)", func(int, int) string { return u })
			stopBare()
		case "queue":
			r = drive(ctx, o, clients, "staff queue", "/applications", func(int, int) string { return base + "/applications" })
		case "application":
			r = drive(ctx, o, clients, "application page", fmt.Sprintf("/applications/{id} (%d IDs)", len(ids)), func(w, k int) string {
				return base + "/applications/" + strconv.FormatInt(ids[(w+k*len(clients))%len(ids)], 10)
			})
		case "dashboard":
			r = drive(ctx, o, clients, "dashboard", "/dashboard", func(int, int) string { return base + "/dashboard" })
		case "journal":
			r = drive(ctx, o, clients, "journal", "/ledger/journal", func(int, int) string { return base + "/ledger/journal" })
		case "home":
			r = drive(ctx, o, clients, "staff to-do home", "/ (staff)", func(int, int) string { return base + "/" })
		case "approver_home":
			r = drive(ctx, o, approvers, "approver to-do home", "/ (approver)", func(int, int) string { return base + "/" })
		}
		r.writes, r.writeErrors = stopWrites()
		fmt.Fprintf(stderr, "loadgen: %-28s %7d requests, %5d errors, %8.1f req/s, p99 %s\n",
			r.name, r.requests, r.errors, r.rate(), ms(r.quantile(0.99)))
		results = append(results, r)
	}
	report(stdout, o, results)
	return nil
}

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

func ms(d time.Duration) string {
	return strconv.FormatFloat(float64(d)/float64(time.Millisecond), 'f', 1, 64) + " ms"
}

// report writes the Markdown table.
func report(w io.Writer, o options, results []result) {
	var bare float64
	for _, r := range results {
		if strings.HasPrefix(r.name, "bare") {
			bare = r.rate()
		}
	}
	fmt.Fprintf(w, "loadgen: %d clients, %s per scenario (after %s warm-up)%s, target %s, client GOMAXPROCS %d, %s\n\n",
		o.clients, o.duration, o.warmup, requestsNote(o.requests), o.target, runtime.GOMAXPROCS(0), time.Now().Format(time.RFC3339))
	head, rule, writes := "| scenario | path | requests | errors | req/s | p50 | p99 | max | vs bare |",
		"|---|---|---:|---:|---:|---:|---:|---:|---:|", o.writes > 0
	if writes {
		fmt.Fprintf(w, "While each scenario ran, one more client committed %.1f %s per second (warm-up included).\n\n", o.writes,
			map[string]string{"comment": "staff comments", "liaison": "liaison assignments (writes to applications)"}[o.writeKind])
		head, rule = head+" writes (errors) |", rule+"---:|"
	}
	fmt.Fprintln(w, head)
	fmt.Fprintln(w, rule)
	for _, r := range results {
		ratio := "–"
		if bare > 0 {
			ratio = strconv.FormatFloat(100*r.rate()/bare, 'f', 1, 64) + " %"
		}
		extra := ""
		if writes {
			extra = fmt.Sprintf(" %d (%d) |", r.writes, r.writeErrors)
		}
		fmt.Fprintf(w, "| %s | `%s` | %d | %d | %.1f | %s | %s | %s | %s |%s\n", r.name, r.path, r.requests, r.errors,
			r.rate(), ms(r.quantile(0.50)), ms(r.quantile(0.99)), ms(r.quantile(1)), ratio, extra)
	}
}

func requestsNote(n int) string {
	if n == 0 {
		return ""
	}
	return fmt.Sprintf(" or %d requests", n)
}
