// A goroutine locked to its thread (runtime.LockOSThread), as cgo, GUI and
// namespace-switching programs lock theirs: it serves requests from a
// channel, blocking between them, while other goroutines send requests and
// compute; then it unlocks and exits.
package main

import (
	"runtime"
	"sync"
)

func work(n int) int {
	s := 0
	for i := 0; i < n; i++ {
		s += i * 7 % 13
	}
	return s
}

func main() {
	requests := make(chan int)
	replies := make(chan int)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for r := range requests {
			replies <- work(1000 + r)
		}
	}()
	var wg sync.WaitGroup
	for c := 0; c < 3; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 5; i++ {
				requests <- c*10 + i
				<-replies
				work(3000)
			}
		}()
	}
	wg.Wait()
	close(requests)
}
