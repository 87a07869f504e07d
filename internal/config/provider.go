package config

import (
	"errors"
	"sync"

	"github.com/knadh/koanf/maps"
)

// ownedMap is a koanf.Provider of a map built for the one load that reads
// it. confmap.Provider deep-copies its map by reflection first, which was
// a quarter of a one-shot run's config load (about 0.3 ms of every grep
// run, with the defaults, environment and flags layers).
type ownedMap struct {
	m     map[string]any
	delim string // the keys are flat, joined by delim; "" when nested
}

func (p ownedMap) ReadBytes() ([]byte, error) {
	return nil, errors.New("config: a map layer has no bytes")
}

func (p ownedMap) Read() (map[string]any, error) {
	if p.delim == "" {
		return p.m, nil
	}
	return maps.Unflatten(p.m, p.delim), nil
}

// envKeys maps each LOGSCAN_* name to its key; built once, as keys is
// complete once the package is initialised.
var envKeys = sync.OnceValue(func() map[string]string {
	byEnv := make(map[string]string, len(keys))
	for key := range keys {
		byEnv[envName(key)] = key
	}
	return byEnv
})
