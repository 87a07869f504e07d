// Package multiline joins lines into events, so that a Java, Python, Go or
// Ruby stack trace becomes one event together with the log line that
// introduced it.
//
// A [Joiner] touches nothing but its inputs and its own state: it reads no
// file and no clock (the time of each line is passed in), and holds only the
// pending event plus the last emitted one (whose Text must outlive the call
// that returned it), never the whole file. Its buffers are allocated on the
// first line and grow to the largest event seen, at most MaxBytes each, so
// Add does not allocate per line once warm.
//
// # Rules
//
// Each line either starts an event or continues the pending one. A line that
// continues when nothing is pending (a file starting with "\tat ...") starts
// an event: no line is ever dropped. A '\r' ending a line is ignored by the
// rules but kept in the text.
//
// With Start and Continue (RE2): a line matching Start starts an event;
// otherwise, if Continue is set, a line matching it continues and any other
// starts; if only Start is set, every other line continues. Both regexps run
// on every line, so their cost is the user's.
//
// The presets follow what Filebeat's documented patterns, Fluent Bit's
// built-in java/python/go/ruby multiline parsers and the OpenTelemetry
// filelog receiver's recombine operator do, with a little state where one
// regexp cannot tell. In every preset a line starting with a space or a tab
// continues. Beyond that:
//
//   - java: "Caused by: ", "Suppressed: " and logback's "Wrapped by: "
//     continue, as does a Throwable's toString line, so that the exception
//     line after "... ERROR [main] Foo - boom" joins it: a name of
//     [A-Za-z0-9_$.] ending in Exception, Error or Throwable
//     ("java.lang.NullPointerException", "IOError: x"), or a
//     package-qualified name whose last part is capitalised followed by
//     ": " ("com.acme.Failure: x"), up to ": " or the end of the line.
//     "Exception in thread ..." starts. Blank lines start.
//   - python: "Traceback (most recent call last):" continues (logging.
//     exception prints the message, then the traceback) and enters the
//     traceback; there, the first unindented line is the exception line and
//     continues. After it, blank lines, "During handling of the above
//     exception, another exception occurred:", "The above exception was the
//     direct cause of the following exception:" and a new "Traceback"
//     continue, so a chain stays one event; the next other line starts.
//     "Stack (most recent call last):" (stack_info) continues too. Outside a
//     traceback, blank lines start.
//   - go: "panic: ", "fatal error: " and "SIGQUIT: "-like lines start an
//     event; until the dump, a second unindented "panic: " continues. A
//     "goroutine N [...]:" line continues anywhere (debug.PrintStack after a
//     log line) and enters the dump, where blank lines, function lines
//     ("main.(*T).f(...)": no space before the '(', a ')' at the end),
//     "created by ", "[signal ...", "runtime stack:", "PC=" and "exit status
//     N" (which leaves the dump) continue; any other line starts and leaves
//     it. Outside a crash, blank lines start. Register dumps of
//     GOTRACEBACK=crash are not recognised.
//   - ruby: "file.rb:12:in 'meth': message (Class)" starts an event; frame
//     lines "path:N:in 'meth'" continue even unindented (Logger prints them
//     so), and an exception's first-line shape right after a backtrace
//     continues too, because Ruby prints an exception's causes that way.
//     Two crashes printed back to back with nothing between them are
//     therefore joined. Blank lines start.
//
// Cost: on an ordinary line (not indented, not a trace) a preset does a few
// byte comparisons on its first bytes; java scans the leading name bytes
// (stopping at the first '-' or ' ' of a timestamp) and ruby scans to the
// first space. No preset runs a regexp.
//
// # Limits
//
// When a continuation line arrives and the pending event already has
// MaxLines lines, or the line would take its text past MaxBytes, the
// pending event is flushed with Reason MaxLines or MaxBytes and Truncated
// set, and the line starts the next event, marked Cont. The rest of an
// over-long trace is thus never dropped: it becomes further events, each
// Cont, and an operator sees both where it was cut and that more followed.
// An event that ends exactly at a limit is not marked: the limit cuts only
// when there is more. A single line longer than what is left of MaxBytes is
// cut to fit; the event is Truncated and Dropped counts the bytes cut, the
// only bytes this package ever discards.
//
// A pending event is flushed with Reason Idle once IdleFlush has passed
// since its last appended line (not since its first), either by the caller
// polling [Joiner.Due] / [Joiner.Deadline] or by the next Add. A follower
// commits [Joiner.Pending]'s offset, so a restart re-reads the pending event
// whole.
package multiline
