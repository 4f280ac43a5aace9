// Package web holds the templ layouts, components and pages, and the
// static assets the server embeds (no CDN at run time).
package web

import "embed"

// Static is served under /static/. Vendored files come from npm through
// `make vendor` (see package.json); app.css and app.js are ours.
//
//go:embed static
var Static embed.FS
