package postgres

import (
	"strings"
	"testing"
)

// TestListColumnsSkipContent guards the queue's cheap column list: if
// appColumns is reworded, the replacement must still drop the body.
func TestListColumnsSkipContent(t *testing.T) {
	if strings.Contains(appListColumns, "a.content") || strings.Count(appListColumns, ",") != strings.Count(appColumns, ",") {
		t.Fatalf("appListColumns = %s", appListColumns)
	}
}
