//go:build !race

package where

const raceEnabled = false
