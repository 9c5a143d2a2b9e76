// Retaking a P from a long system call while a thread waits in the network
// poller: one goroutine sleeps in nanosleep(2) (sysmon takes its P back), the
// other on a timer (an idle thread blocks in netpoll until it fires, so
// sched.lastpoll is 0 and handoffp idles the last P instead of starting an M).
package main

import (
	"sync"
	"syscall"
	"time"
)

func main() {
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		ts := syscall.Timespec{Nsec: 2_000_000}
		for i := 0; i < 6; i++ {
			if err := syscall.Nanosleep(&ts, nil); err != nil {
				panic(err)
			}
		}
	}()
	go func() {
		defer wg.Done()
		for i := 0; i < 3; i++ {
			time.Sleep(5 * time.Millisecond)
		}
	}()
	wg.Wait()
}
