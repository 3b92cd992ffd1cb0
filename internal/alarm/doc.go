// Package alarm runs the request path's watchdog callbacks (a provider call's timeout, the
// start of the client-disconnect watch, a finished stream's drain bound) from one goroutine
// that ticks every Resolution while alarms are set, instead of a runtime timer per request.
//
// Why: arming a runtime timer on a processor whose timer heap is empty (the usual case
// between requests at low concurrency) makes the Go runtime wake its network poller, which is
// a futex wake-up of an idle thread or an eventfd write, and the woken thread then spins
// looking for work. On the 2-vCPU VM this was measured at about 50 µs of CPU and 35 µs of
// time to first byte per stream at concurrency 1 (README "Performance"). An alarm costs a
// short lock and a heap operation; the clock's own ticker is one runtime timer for the
// process, and it stops after a second with no alarm set, so an idle process is not woken.
//
// The price is precision: an alarm fires up to Resolution late, which is nothing for the
// timeouts it serves (milliseconds to minutes). Callbacks run on the clock's goroutine and
// must return quickly; one that has long work to do starts a goroutine.
package alarm
