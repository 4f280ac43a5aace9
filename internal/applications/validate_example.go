package applications

import (
	"fmt"
	"time"
)

// Example values for seeds, demos and tests. They pass the validators but are
// made up: any resemblance to a real enterprise or person is chance. Real
// codes must never be committed as fixtures, hence these generators.

// hohhotDivisions are administrative division codes (GB/T 2260) of Hohhot
// and its districts, so examples look local.
var hohhotDivisions = []string{"150100", "150102", "150103", "150104", "150105", "150121", "150122"}

// orgWeights are the GB 11714-1997 weights of the 组织机构代码 embedded in
// positions 9–17 of a USCC.
var orgWeights = [8]int{3, 7, 9, 10, 5, 8, 4, 2}

// ExampleUSCC returns a valid 统一社会信用代码 determined by seed: registered
// by market regulation as an enterprise ("91"), a Hohhot division code, an
// all-digit 组织机构代码 with its own GB 11714 check character, and the GB
// 32100 check character. Seeds 0 to 99,999,999 give pairwise different codes
// (the organisation code is a bijection of seed mod 10^8), so seed data can
// satisfy a unique constraint by using distinct seeds.
func ExampleUSCC(seed int) string {
	n := uint64(seed) % 100_000_000
	// 7919 is coprime to 10^8, so n → body is a permutation of 0..10^8-1
	// that scatters consecutive seeds.
	body := fmt.Sprintf("%08d", (n*7919+31415926)%100_000_000)
	code := "91" + hohhotDivisions[n%uint64(len(hohhotDivisions))] + body + string(orgCheck(body))
	return code + string(usccCheck(code))
}

// orgCheck computes the GB 11714-1997 check character for an 8-character
// body of digits and upper-case letters (A = 10 … Z = 35).
func orgCheck(body string) byte {
	sum := 0
	for i := 0; i < 8; i++ {
		v := int(body[i] - '0')
		if body[i] >= 'A' {
			v = int(body[i]-'A') + 10
		}
		sum += v * orgWeights[i]
	}
	switch c := 11 - sum%11; c {
	case 10:
		return 'X'
	case 11:
		return '0'
	default:
		return byte('0' + c)
	}
}

// ExampleIDNumber returns a valid 18-digit 居民身份证号 for someone born on
// birth's calendar date (in birth's own location): a Hohhot address code and a
// sequence number chosen by seed, and the GB 11643 check character. For one
// birth date, seeds 0 to 6,992 give pairwise different numbers. The result is
// valid only when birth is between 1900-01-01 and today.
func ExampleIDNumber(seed int, birth time.Time) string {
	n := uint64(seed) % (999 * uint64(len(hohhotDivisions)))
	seq := 1 + n%999 // 001–999: 000 is not issued
	body := fmt.Sprintf("%s%04d%02d%02d%03d",
		hohhotDivisions[n/999], birth.Year(), int(birth.Month()), birth.Day(), seq)
	return body + string(idCheck(body))
}
