package server

import (
	"net/http"
	"sort"

	"ite/internal/applications"
	"ite/internal/ledger"
	"ite/web/format"
	"ite/web/page"
)

// watchlistRoutes: the projects to watch.
func (s *Server) watchlistRoutes() []route {
	return []route{
		{"GET", "/watchlist", can(applications.ActionReadWatchlist).inMenu(navWatchlist, "关注清单"), s.handleWatchlist},
	}
}

// handleWatchlist lists projects that need attention (GET /watchlist);
// ?format=csv|xlsx exports it.
func (s *Server) handleWatchlist(w http.ResponseWriter, r *http.Request) error {
	if err := s.sweepDue(r, &s.lapses); err != nil {
		return err
	}
	items, err := s.DB.Watchlist(r.Context())
	if err != nil {
		return err
	}
	sortKey := r.URL.Query().Get("sort")
	sort.SliceStable(items, func(i, j int) bool {
		switch sortKey {
		case "issue":
			return items[i].Issue < items[j].Issue
		case "project":
			return items[i].Title < items[j].Title
		}
		return items[i].Date.Before(items[j].Date)
	})
	if r.URL.Query().Get("format") != "" {
		table := ledger.Table{Name: "关注清单", Columns: []ledger.Column{{Title: "项目", Type: ledger.ColText},
			{Title: "企业", Type: ledger.ColText}, {Title: "事项", Type: ledger.ColText}, {Title: "日期", Type: ledger.ColDate}}}
		return s.export(w, r, "watchlist", "关注清单", table, func(rw ledger.RowWriter, n *int64) (ledger.ChainHead, error) {
			for _, it := range items {
				if err := rw.WriteRow(ledger.Text(it.Title), ledger.Text(it.Enterprise), ledger.Text(it.Issue), ledger.Date(it.Date)); err != nil {
					return ledger.ChainHead{}, err
				}
				*n++
			}
			return s.DB.LedgerHead(r.Context())
		})
	}
	v := page.WatchlistView{Sort: sortKey}
	for _, it := range items {
		v.Rows = append(v.Rows, page.WatchRow{AppID: it.ApplicationID, Title: it.Title, Enterprise: it.Enterprise,
			Issue: it.Issue, Date: format.Date(it.Date), Link: it.Link})
	}
	return s.render(w, r, http.StatusOK, page.Watchlist(v))
}
