package match

// NumRules returns the number of rules, so callers can keep per-rule state
// (metrics) in a slice indexed by the rule that Next and Select return.
func (m *Matcher) NumRules() int { return len(m.rules) }
