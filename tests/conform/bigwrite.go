// Output: one goroutine writes 20 MB to stdout (a pipe conform reads) in
// 64 KB writes. Each write is a system call that may block on the full
// pipe, and sysmon takes the P from it (the goroutine has had the same
// schedtick for 10 ms), so the thread comes out of most calls without a P
// and takes an idle one. The corpus runs it with
// GODEBUG=traceadvanceperiod=2000000 (checker/bench/corpus.py): the tracer
// starts a new generation every 2 ms, in the middle of the writes, and
// reports every goroutine's and proc's status again there (GoStatus,
// ProcStatus), which are not changes. With the default period (a second)
// the same happens to a run that lasts longer, such as 200 MB written on
// a loaded machine.
package main

import "os"

func main() {
	buf := make([]byte, 64<<10)
	for i := range buf {
		buf[i] = 'x'
	}
	for n := 0; n < (20<<20)/len(buf); n++ {
		if _, err := os.Stdout.Write(buf); err != nil {
			panic(err)
		}
	}
}
