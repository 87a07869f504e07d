//go:build race

package summary

// raceEnabled is set because sync.Pool (used by regexp) drops items at random
// under the race detector, so allocation counts are meaningless there.
const raceEnabled = true
