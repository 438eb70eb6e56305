package driverhub_test

import (
	"testing"
	"time"

	"github.com/driverhub/driverhub"
)

// WaveOf puts the targets up to ceil(percent·N/100) in each wave, each
// wave holding its own share (SPEC §10).
func TestWaveOf(t *testing.T) {
	for _, tc := range []struct {
		percents []int
		n        int
		sizes    []int
	}{
		{[]int{1, 10, 50, 100}, 1000, []int{10, 90, 400, 500}},
		{[]int{1, 10, 50, 100}, 3, []int{1, 0, 1, 1}}, // ceil(0.03)=1, ceil(0.3)=1, ceil(1.5)=2
		{[]int{100}, 7, []int{7}},
		{[]int{33, 66, 100}, 10, []int{4, 3, 3}},
	} {
		sizes := make([]int, len(tc.percents))
		for k := range tc.n {
			sizes[driverhub.WaveOf(tc.percents, k, tc.n)-1]++
		}
		for w := range sizes {
			if sizes[w] != tc.sizes[w] {
				t.Errorf("waves %v of %d targets: sizes %v, want %v", tc.percents, tc.n, sizes, tc.sizes)
				break
			}
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for d, want := range map[time.Duration]string{
		30 * time.Minute: "30m", time.Hour: "1h", 90 * time.Minute: "1h30m", 10 * time.Second: "10s",
		168 * time.Hour: "168h", 2*time.Hour + 5*time.Second: "2h0m5s",
	} {
		if got := driverhub.FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", d, got, want)
		}
	}
}
