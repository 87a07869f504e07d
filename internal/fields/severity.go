package fields

// Severity maps a level value to its OpenTelemetry severity text and
// SeverityNumber (TRACE 1, DEBUG 5, INFO 9, WARN 13, ERROR 17, FATAL 21),
// ignoring case. It knows the usual names (trace, debug, info,
// information(al), notice, warn(ing), error, err, crit(ical), alert,
// fatal, panic, emerg(ency)), klog's letters I W E F and D, syslog's
// numbers 0-7, and pino/bunyan's 10-60. Unknown values give ("", 0).
//
// Syslog's severities follow the OTel log data model's appendix: notice is
// INFO2, crit ERROR2, alert ERROR3, emerg FATAL; so the text is the OTel
// short name of the number, such as "ERROR2".
func Severity(level []byte) (text string, number int) {
	var low [16]byte
	if len(level) == 0 || len(level) > len(low) {
		return "", 0
	}
	for i, c := range level {
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		low[i] = c
	}
	switch string(low[:len(level)]) {
	case "trace", "10":
		return "TRACE", 1
	case "debug", "d", "7", "20":
		return "DEBUG", 5
	case "info", "information", "informational", "i", "6", "30":
		return "INFO", 9
	case "notice", "5":
		return "INFO2", 10
	case "warn", "warning", "w", "4", "40":
		return "WARN", 13
	case "error", "err", "e", "3", "50":
		return "ERROR", 17
	case "crit", "critical", "2":
		return "ERROR2", 18
	case "alert", "1":
		return "ERROR3", 19
	case "fatal", "panic", "emerg", "emergency", "f", "0", "60":
		return "FATAL", 21
	}
	return "", 0
}
