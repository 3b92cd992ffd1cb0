// Package alarm runs the request path's watchdog callbacks (a provider call's timeout, the
// start of the client-disconnect watch, a finished stream's drain bound) from one clock
// goroutine that sleeps until the earliest alarm, instead of a runtime timer per request.
//
// Why: arming a runtime timer on a processor whose timer heap is empty (the usual case
// between requests at low concurrency) makes the Go runtime wake its network poller, which is
// a futex wake-up of an idle thread or an eventfd write, and the woken thread then spins
// looking for work. On the 2-vCPU VM this was measured at about 50 µs of CPU and 30 µs of
// time to first byte per stream at concurrency 1 (README "Performance"). Setting an alarm
// costs a short lock and a heap operation, and wakes the clock's goroutine only when the alarm
// is due before the goroutine means to look next; callers that set the same alarm again and
// again leave it set and let it find itself early (see the provider's calls). The goroutine
// ends a second after the last alarm, so an idle process is not woken.
//
// The price is precision: an alarm fires up to Resolution late, which is nothing for the
// timeouts it serves (milliseconds to minutes). Callbacks run on the clock's goroutine and
// must return quickly; one that has long work to do starts a goroutine.
package alarm
