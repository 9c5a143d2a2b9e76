// Blocking system calls: goroutines sleep in nanosleep(2) (a system call the
// runtime does not poll), long enough for sysmon to retake their P, while
// main waits; then they compute a little.
package main

import (
	"sync"
	"syscall"
)

func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i ^ (i >> 3)
	}
	return s
}

func main() {
	var wg sync.WaitGroup
	sink := make([]int, 3)
	for g := range sink {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := syscall.Timespec{Nsec: 200_000}
			for i := 0; i < 10; i++ {
				if err := syscall.Nanosleep(&ts, nil); err != nil {
					panic(err)
				}
				sink[g] += work(2000)
			}
		}()
	}
	wg.Wait()
}
