package server

import (
	"strings"
	"testing"

	"ite/internal/applications"
)

func TestSecurityHeaders(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.client().get("/login")
	want := map[string]string{
		"Content-Security-Policy": "default-src 'self'",
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "same-origin",
	}
	for k, v := range want {
		if !strings.Contains(r.Header.Get(k), v) {
			t.Errorf("%s = %q, want %q", k, r.Header.Get(k), v)
		}
	}
	if !strings.Contains(r.Header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
		t.Error("CSP lacks frame-ancestors 'none'")
	}
	if lang, _ := r.doc(t).Find("html").Attr("lang"); lang != "zh-CN" {
		t.Errorf("lang %q", lang)
	}
}

func TestErrorPages(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	c := e.loggedIn(applications.RoleExpert)
	cases := []struct {
		name, path string
		status     int
		text       string
	}{
		{"NotFoundInChinese", "/no/such/page", 404, "页面不存在"},
		{"ForbiddenInChinese", "/admin/users", 403, "无权访问"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := c.get(tc.path)
			if r.StatusCode != tc.status {
				t.Fatalf("status %d", r.StatusCode)
			}
			d := r.doc(t)
			if !strings.Contains(d.Find("h1").Text(), tc.text) {
				t.Fatalf("h1 %q", d.Find("h1").Text())
			}
			id := r.Header.Get("X-Request-Id")
			if id == "" || !strings.Contains(d.Find(".footer").Text(), id) {
				t.Fatal("request ID not shown on the page")
			}
		})
	}
	t.Run("BadIDIs404Not500", func(t *testing.T) {
		if r := e.loggedIn(applications.RoleAdmin).get("/admin/users/abc"); r.StatusCode != 404 {
			t.Fatalf("status %d", r.StatusCode)
		}
	})
}
