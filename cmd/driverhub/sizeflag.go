package main

import (
	"fmt"
	"strconv"
	"strings"
)

// byteSize is a flag holding a number of bytes, written with a unit:
// 10GiB, 500MiB, 1.5TiB, 2GB (powers of 1000), or a bare number of bytes.
type byteSize int64

var byteUnits = []struct {
	suffix string
	n      float64
}{
	{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10},
	{"TB", 1e12}, {"GB", 1e9}, {"MB", 1e6}, {"KB", 1e3}, {"B", 1},
}

func (b *byteSize) Set(s string) error {
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range byteUnits {
		if cut, ok := strings.CutSuffix(num, u.suffix); ok {
			num, mult = strings.TrimSpace(cut), u.n
			break
		}
	}
	f, err := strconv.ParseFloat(num, 64)
	if err != nil || f < 0 || f*mult > 1<<62 {
		return fmt.Errorf("want a size such as 10GiB, 500MiB or a number of bytes, got %q", s)
	}
	*b = byteSize(f * mult)
	return nil
}

func (b *byteSize) String() string {
	if *b == 0 {
		return "0"
	}
	for _, u := range byteUnits[:4] {
		if int64(*b)%int64(u.n) == 0 {
			return strconv.FormatInt(int64(*b)/int64(u.n), 10) + u.suffix
		}
	}
	return strconv.FormatInt(int64(*b), 10)
}

func (b *byteSize) Type() string { return "size" }
