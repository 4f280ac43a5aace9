package conversion

import (
	"fmt"
	"math/big"
	"strings"
)

// stepList collects the human explanation of a calculation (Simplified
// Chinese). Callers guard each add with `if steps.on`, so a request without
// "explain" does not pay for formatting the arguments (it halved the
// allocations of a conversion); add also checks, as a safety net.
type stepList struct {
	on   bool
	list []string
}

func (s *stepList) add(format string, args ...any) {
	if s.on {
		s.list = append(s.list, fmt.Sprintf(format, args...))
	}
}

// ratStr prints a value that came from the request (a finite decimal) in its
// shortest exact form: "0.2", "80000000".
func ratStr(r *big.Rat) string {
	s := r.FloatString(placesRatio)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// percent prints a fraction as a percentage with 2 decimals: "2.91%".
func percent(r *big.Rat) string {
	return fixed(mul(r, ratInt(100)), 2, halfUp) + "%"
}
