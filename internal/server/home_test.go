package server

import (
	"net/http"
	"strings"
	"testing"

	"github.com/PuerkitoBio/goquery"

	"ite/internal/applications"
)

func TestHomePerRole(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	for _, role := range applications.AllRoles() {
		t.Run(string(role), func(t *testing.T) {
			d := e.loggedIn(role).get("/").doc(t)
			if d.Find("ul.duties li").Length() == 0 {
				t.Fatal("no duties listed")
			}
			if !strings.Contains(d.Find(".role-badge").Text(), role.Label()) {
				t.Fatalf("badge %q", d.Find(".role-badge").Text())
			}
			// every nav link works for this role
			d.Find(".mainnav a").Each(func(_ int, a *goquery.Selection) {
				href, _ := a.Attr("href")
				if r := e.loggedIn(role).get(href); r.StatusCode != http.StatusOK {
					t.Errorf("nav link %s: %d", href, r.StatusCode)
				}
			})
		})
	}
}
