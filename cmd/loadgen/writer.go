package main

import (
	"context"
	"errors"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
)

// writer is one more signed-in staff client that commits while a scenario
// runs: a coaching comment on one of the applications, -writes times a
// second. Every commit makes the server forget its cached pages, so the
// pages are measured as they are while the data changes.
type writer struct {
	c    *client
	base string
	ids  []int64
	csrf string
	rate float64
	// kind is options.writeKind; liaisons are, for "liaison", the
	// applications' current liaisons, which the writer assigns again: a
	// real UPDATE of applications (and an audit row) that leaves the data
	// as it was, so kept bench data stays the same.
	kind     string
	liaisons map[int64]string
}

// selectedLiaison is the liaison an application page's liaison list shows
// as assigned.
var selectedLiaison = regexp.MustCompile(`<select id="f-liaison_id" name="liaison_id">(?:\s*<option [^>]*>[^<]*</option>)*?\s*<option value="(\d+)" selected>`)

var csrfMeta = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

func newWriter(ctx context.Context, tr http.RoundTripper, o options, ids []int64) (*writer, error) {
	if len(ids) == 0 {
		return nil, errors.New("-writes needs application IDs to comment on")
	}
	c := newClient(tr)
	c.hc.Jar.SetCookies(o.target, o.session) // the session bench signed in

	body, status, err := c.get(ctx, o.target.String()+"/")
	if err != nil {
		return nil, err
	}
	m := csrfMeta.FindSubmatch(body)
	if status != http.StatusOK || m == nil {
		return nil, fmt.Errorf("writer: no CSRF token on the home page (status %d)", status)
	}
	w := &writer{c: c, base: o.target.String(), ids: ids, csrf: html.UnescapeString(string(m[1])), rate: o.writes, kind: o.writeKind}
	if w.kind == "liaison" {
		w.liaisons = map[int64]string{}
		var assigned []int64
		for _, id := range ids {
			page, status, err := c.get(ctx, w.base+"/applications/"+strconv.FormatInt(id, 10))
			if err != nil {
				return nil, err
			}
			if l := selectedLiaison.FindSubmatch(page); status == http.StatusOK && l != nil {
				w.liaisons[id] = string(l[1])
				assigned = append(assigned, id)
			}
		}
		if len(assigned) == 0 {
			return nil, errors.New("writer: none of the applications has a liaison to assign again")
		}
		w.ids = assigned
	}
	return w, nil
}

// start commits at the writer's rate until the returned stop is called,
// which reports how many commits succeeded and failed. A nil writer, or
// on = false, writes nothing.
func (w *writer) start(ctx context.Context, on bool) (stop func() (ok, failed int)) {
	if w == nil || !on {
		return func() (int, int) { return 0, 0 }
	}
	wctx, cancel := context.WithCancel(ctx)
	var ok, failed int
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(time.Duration(float64(time.Second) / w.rate))
		defer tick.Stop()
		for k := 0; ; k++ {
			select {
			case <-wctx.Done():
				return
			case <-tick.C:
			}
			i := k % len(w.ids)
			switch status := w.commit(wctx, w.ids[i], k); {
			case status == http.StatusSeeOther:
				ok++
			case wctx.Err() != nil:
			case status >= 400 && status < 500 && len(w.ids) > 1:
				// A closed application takes no comments: use the others.
				w.ids = append(w.ids[:i:i], w.ids[i+1:]...)
			default:
				failed++
			}
		}
	})
	return func() (int, int) {
		cancel()
		wg.Wait()
		return ok, failed
	}
}

// commit posts one coaching comment, or one liaison assignment, and
// returns the status (303 on success; 0 when the request did not
// complete).
func (w *writer) commit(ctx context.Context, id int64, k int) int {
	path, form := "/comments", url.Values{"body": {"负载测试意见 " + strconv.Itoa(k)}, "csrf_token": {w.csrf}}
	if w.kind == "liaison" {
		path, form = "/liaison", url.Values{"liaison_id": {w.liaisons[id]}, "csrf_token": {w.csrf}}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		w.base+"/applications/"+strconv.FormatInt(id, 10)+path, strings.NewReader(form.Encode()))
	if err != nil {
		return 0
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", w.base)
	resp, err := w.c.hc.Do(req)
	if err != nil {
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}
