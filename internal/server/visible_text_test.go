package server

import (
	"bytes"
	"encoding/csv"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/go-chi/chi/v5"
	"github.com/xuri/excelize/v2"
	"golang.org/x/net/html"

	"ite/internal/applications"
)

// The visible-text sweep (issue 14 point 4): what a person reads, on every
// page of the lifecycle fixture for every role and in every CSV and XLSX
// export, is Chinese. No state, price basis, event kind, record reference
// ("conversion#1"), account scope ("1002/prog/1"), JSON key or other code
// may show, and where a person acted the page names them, not their ID.

// latinToken is a run of Latin letters with the digits, underscores and
// separators a code carries ("under_review", "conversion#1", "prog/1").
var latinToken = regexp.MustCompile(`[A-Za-z][A-Za-z0-9_]*(?:[#/.:-][A-Za-z0-9_]+)*`)

// Text a person legitimately reads in Latin letters is removed before the
// check, each for its reason:
var (
	// addresses and email addresses are what they are;
	urlText = regexp.MustCompile(`https?://\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+`)
	// file names are the user's own ("申请书.pdf") or the download's;
	fileName = regexp.MustCompile(`(?i)[^\s/\\（）()「」“”"'：:，,]+\.(?:pdf|docx?|xlsx?|csv|ofd|json|zip|png|jpe?g|txt)\b`)
	// digests and their short forms are hexadecimal by nature, and a
	// chain head names its hash scheme ("42 sha256-v1:…"), which the
	// verification commands print the same way;
	hexRun     = regexp.MustCompile(`\b[0-9a-fA-F]{6,}\b`)
	hashScheme = regexp.MustCompile(`\bsha256-v\d+\b`)
	// names the fixture itself typed: the experts "专家perm0"…, the
	// enterprise's creator "test".
	fixtureData = regexp.MustCompile(`\bperm\d+\b|\btest\b|\bfixture\b`)
)

// allowedWords are the Latin words a Chinese reader is meant to see: names
// of measures, formats and standards that have no Chinese form in use. Each
// is upper case or a fixed term; an engine key never belongs here.
var allowedWords = map[string]bool{
	"MOIC": true, "XIRR": true, "IRR": true, // the return measures DOMAIN §14 names
	"CSV": true, "XLSX": true, "PDF": true, "OFD": true, "DOCX": true, "JSON": true, // file formats offered for download
	"TOTP": true, "ITE": true, "IP": true, "ID": true, "USCC": true, "URL": true, // standards, the product's name
	"Ed25519": true, "SHA-256": true, "SHA256": true, // the anchor's signature and digest (ledger verification)
	"MiB": true, "Base32": true, "Ctrl": true, // a size unit, the TOTP key's encoding, the key to press
	// brand names: the authenticator apps suggested for the second
	// factor, and the browsers and systems of the sessions list
	"Google": true, "Microsoft": true, "Authenticator": true, "Chrome": true, "Edge": true, "Firefox": true,
	"Safari": true, "Windows": true, "macOS": true, "iOS": true, "iPadOS": true, "Android": true, "Linux": true,
}

// codeWords finds the Latin words in s that are not allowed: every token
// with a lower-case letter (an identifier, a code, an English word) and
// any snake_case one.
func codeWords(s string, usernames []string) []string {
	s = urlText.ReplaceAllString(s, " ")
	s = hashScheme.ReplaceAllString(s, " ")
	s = fixtureData.ReplaceAllString(s, " ")
	s = fileName.ReplaceAllString(s, " ")
	s = hexRun.ReplaceAllStringFunc(s, func(h string) string {
		if strings.ContainsAny(h, "0123456789") {
			return " "
		}
		return h
	})
	// A username is shown in brackets after the person's name ("经办人员甲
	// （staff）"), or alone where the account itself is shown.
	for _, u := range usernames {
		s = strings.NewReplacer("（"+u+"）", " ", "("+u+")", " ", "用户名："+u, " ").Replace(s)
		if strings.TrimSpace(s) == u {
			return nil
		}
	}
	var out []string
	for _, w := range latinToken.FindAllString(s, -1) {
		if allowedWords[w] || len(w) == 1 { // one letter: a formula's symbol (成本 c, 年利率 r)
			continue
		}
		if strings.ContainsAny(w, "abcdefghijklmnopqrstuvwxyz_") {
			out = append(out, w)
		}
	}
	return out
}

// visibleAttrs are the attributes a person reads: tooltips, placeholders,
// image texts, labels for screen readers, and confirmation questions.
var visibleAttrs = map[string]bool{"title": true, "placeholder": true, "alt": true, "aria-label": true,
	"hx-confirm": true, "data-confirm": true}

// visibleTexts returns the texts of an HTML page a person reads: text
// nodes outside script, style and template, the attributes above, and the
// labels of buttons. An element marked translate="no" (HTML's mark for
// text that must stay as written) is left out: commands to type and the
// archived calculator request a certificate's digest is over.
func visibleTexts(t *testing.T, body string) []string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		switch n.Type {
		case html.TextNode:
			if s := strings.TrimSpace(n.Data); s != "" {
				out = append(out, s)
			}
		case html.ElementNode:
			switch n.Data {
			case "script", "style", "template", "noscript":
				return
			}
			for _, a := range n.Attr {
				if a.Key == "translate" && a.Val == "no" {
					return
				}
			}
			typ := ""
			for _, a := range n.Attr {
				if a.Key == "type" {
					typ = a.Val
				}
			}
			for _, a := range n.Attr {
				button := n.Data == "input" && a.Key == "value" && (typ == "submit" || typ == "button" || typ == "reset")
				if (visibleAttrs[a.Key] || button) && strings.TrimSpace(a.Val) != "" {
					out = append(out, strings.TrimSpace(a.Val))
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(root)
	return out
}

// actorHeader names a table column that says who acted.
var actorHeader = regexp.MustCompile(`操作人|制单|复核|经办人|审批人|录入人`)

// bareID is a cell that is only numbers: a user ID where a name belongs.
var bareID = regexp.MustCompile(`^[\d\s/、,，]+$`)

// actorCells returns the cells of the columns whose header says who acted,
// of every row with as many cells as the header (rows that rowspans
// shorten are left out).
func actorCells(t *testing.T, body string) []string {
	t.Helper()
	root, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	var tables []*html.Node
	var find func(n *html.Node)
	find = func(n *html.Node) {
		if n.Type == html.ElementNode && n.Data == "table" {
			tables = append(tables, n)
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			find(c)
		}
	}
	find(root)
	for _, tb := range tables {
		var rows [][]string
		var row func(n *html.Node)
		row = func(n *html.Node) {
			if n.Type == html.ElementNode && n.Data == "table" && n != tb {
				return // a nested table is its own
			}
			if n.Type == html.ElementNode && n.Data == "tr" {
				var cells []string
				for c := n.FirstChild; c != nil; c = c.NextSibling {
					if c.Type == html.ElementNode && (c.Data == "td" || c.Data == "th") {
						cells = append(cells, strings.Join(strings.Fields(nodeText(c)), " "))
					}
				}
				rows = append(rows, cells)
				return
			}
			for c := n.FirstChild; c != nil; c = c.NextSibling {
				row(c)
			}
		}
		row(tb)
		out = append(out, columnCells(rows)...)
	}
	return out
}

// columnCells are the actor cells of a table given as rows, the first
// being its header.
func columnCells(rows [][]string) []string {
	if len(rows) == 0 {
		return nil
	}
	var cols []int
	for i, h := range rows[0] {
		if actorHeader.MatchString(h) {
			cols = append(cols, i)
		}
	}
	var out []string
	for _, r := range rows[1:] {
		if len(r) != len(rows[0]) {
			continue
		}
		for _, i := range cols {
			if strings.TrimSpace(r[i]) != "" {
				out = append(out, r[i])
			}
		}
	}
	return out
}

func nodeText(n *html.Node) string {
	if n.Type == html.TextNode {
		return n.Data
	}
	var b strings.Builder
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		b.WriteString(nodeText(c))
		b.WriteByte(' ')
	}
	return b.String()
}

// exportRows reads a CSV or XLSX download into rows of cells, per sheet.
func exportRows(t *testing.T, r response) (format string, sheets map[string][][]string) {
	t.Helper()
	ct := r.Header.Get("Content-Type")
	switch {
	case strings.HasPrefix(ct, "text/csv"):
		cr := csv.NewReader(strings.NewReader(strings.TrimPrefix(r.body, "\ufeff")))
		cr.FieldsPerRecord, cr.LazyQuotes = -1, true
		rows, err := cr.ReadAll()
		if err != nil {
			t.Fatalf("the CSV does not parse: %v", err)
		}
		return "csv", map[string][][]string{"": rows}
	case strings.Contains(ct, "spreadsheetml"):
		f, err := excelize.OpenReader(bytes.NewReader([]byte(r.body)))
		if err != nil {
			t.Fatalf("the XLSX does not open: %v", err)
		}
		defer f.Close()
		sheets = map[string][][]string{}
		for _, name := range f.GetSheetList() {
			rows, err := f.GetRows(name)
			if err != nil {
				t.Fatal(err)
			}
			sheets[name] = rows
		}
		return "xlsx", sheets
	}
	return "", nil
}

// TestVisibleTextChinese is the sweep of issue 14 point 4: every role reads
// every page of the lifecycle fixture it may (and the pages they link to),
// and downloads every export in both formats; no text shows a code word,
// and the columns that say who acted show names.
func TestVisibleTextChinese(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	fx := newPermFixture(e)
	// The calculator's explanation steps, through the simulator.
	alt, _ := url.ParseQuery(simExampleA)
	alt.Set("allocation", "pro_rata")
	alt.Set("below_cap", "cap")
	fx.paths["/simulator"] = []string{"/simulator?" + simExampleA}
	fx.paths["/simulator/result"] = []string{"/simulator/result?" + simExampleA, "/simulator/result?" + alt.Encode()}

	router := e.srv.Router()
	table := map[string]route{}
	for _, rt := range e.srv.routes() {
		table[rt.method+" "+rt.pattern] = rt
	}
	target := func(path string) (route, bool) {
		pattern := router.Find(chi.NewRouteContext(), http.MethodGet, path)
		rt, ok := table[http.MethodGet+" "+pattern]
		return rt, pattern != "" && ok
	}
	var usernames []string
	for _, u := range e.users {
		usernames = append(usernames, u.Username)
	}
	// Longest first, so "security_admin" goes before "admin".
	sort.Slice(usernames, func(i, j int) bool { return len(usernames[i]) > len(usernames[j]) })
	base, _ := url.Parse(e.http.URL)

	exported := map[string]bool{} // "pattern format" downloaded
	actorsRead := 0               // actor cells checked, so the check is not empty
	for _, role := range applications.AllRoles() {
		c := e.loggedIn(role)
		visited := map[string]bool{}
		seen := map[string]int{} // pages read per route and query shape
		var queue []string
		read := 0 // pages and downloads read
		for _, rt := range e.srv.routes() {
			if rt.method == http.MethodGet && rt.access.admits(role) {
				queue = append(queue, fx.concrete(rt.pattern)...)
			}
		}
		enqueue := func(u *url.URL) {
			rt, ok := target(u.Path)
			if !ok || !rt.access.admits(role) || rt.pattern == "/static/*" || u.Path == "/logout" {
				return
			}
			q := u.Query()
			keys := make([]string, 0, len(q))
			for k := range q {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			shape := rt.pattern + "?" + strings.Join(keys, "&") + " " + q.Get("format")
			if seen[shape] >= 3 || visited[u.RequestURI()] {
				return
			}
			seen[shape]++
			queue = append(queue, u.RequestURI())
			// An export in one format is also read in the other.
			if f := q.Get("format"); f == "csv" || f == "xlsx" {
				other := map[string]string{"csv": "xlsx", "xlsx": "csv"}[f]
				q.Set("format", other)
				v := *u
				v.RawQuery = q.Encode()
				queue = append(queue, v.RequestURI())
			}
		}
		for len(queue) > 0 {
			path := queue[0]
			queue = queue[1:]
			if visited[path] {
				continue
			}
			visited[path] = true
			rt, ok := target(strings.SplitN(path, "?", 2)[0])
			if !ok || !rt.access.admits(role) || rt.pattern == "/static/*" || rt.pattern == "/logout" {
				continue
			}
			r := c.get(path)
			if r.StatusCode != http.StatusOK {
				continue // redirects and refusals are other tests' business
			}
			read++
			ct := r.Header.Get("Content-Type")
			if strings.HasPrefix(ct, "text/html") {
				for _, s := range visibleTexts(t, r.body) {
					if ws := codeWords(s, usernames); len(ws) > 0 {
						t.Errorf("%s GET %s shows %q in %q", role, path, ws, s)
					}
				}
				for _, cell := range actorCells(t, r.body) {
					actorsRead++
					if bareID.MatchString(cell) {
						t.Errorf("%s GET %s: who acted is shown as %q, not by name", role, path, cell)
					}
				}
				page, _ := base.Parse(path)
				items, _ := offers(r.doc(t), page)
				for _, o := range items {
					if o.method == http.MethodGet && o.kind != "form" {
						if u, err := page.Parse(o.uri); err == nil {
							enqueue(u)
						}
					}
				}
				continue
			}
			format, sheets := exportRows(t, r)
			if format == "" {
				continue // a document, a printout file or an anchor: not a table
			}
			exported[rt.pattern+" "+format] = true
			for name, rows := range sheets {
				if ws := codeWords(name, usernames); len(ws) > 0 {
					t.Errorf("%s GET %s: sheet %q shows %q", role, path, name, ws)
				}
				for i, row := range rows {
					for _, cell := range row {
						if ws := codeWords(cell, usernames); len(ws) > 0 {
							t.Errorf("%s GET %s (%s, row %d) shows %q in %q", role, path, format, i+1, ws, cell)
						}
					}
				}
				for _, cell := range columnCells(rows) {
					actorsRead++
					if bareID.MatchString(cell) {
						t.Errorf("%s GET %s (%s): who acted is shown as %q, not by name", role, path, format, cell)
					}
				}
			}
		}
		t.Logf("%s: %d pages and downloads read", role, read)
		if read < 3 {
			t.Errorf("%s read only %d pages: the sweep did not get in", role, read)
		}
	}
	// Every export route was read in both formats by some role.
	for _, rt := range e.srv.routes() {
		if rt.method != http.MethodGet || !(strings.Contains(rt.pattern, "/export") || rt.pattern == "/equity" || rt.pattern == "/watchlist") {
			continue
		}
		for _, f := range []string{"csv", "xlsx"} {
			if !exported[rt.pattern+" "+f] {
				t.Errorf("no role downloaded %s as %s: the sweep did not read it", rt.pattern, f)
			}
		}
	}
	if !exported["/applications/{id}/scores.xlsx xlsx"] {
		t.Error("no role downloaded the score sheet")
	}
	if actorsRead == 0 {
		t.Error("no column saying who acted was read: the name check is empty")
	}
}
