//go:build race

package where

// raceEnabled is set because sync.Pool (used by regexp) drops items at random
// under the race detector, so allocation counts of regexp matching are
// meaningless there.
const raceEnabled = true
