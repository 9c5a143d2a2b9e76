// System calls and sleeps: goroutines write to a pipe and sleep, so their
// Ms enter and leave system calls and timers wake them up.
package main

import (
	"os"
	"sync"
	"time"
)

func main() {
	r, w, err := os.Pipe()
	if err != nil {
		panic(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		buf := make([]byte, 64)
		for total := 0; total < 3*8*16; {
			n, err := r.Read(buf)
			if err != nil {
				panic(err)
			}
			total += n
		}
	}()
	for g := 0; g < 3; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			msg := make([]byte, 16)
			for i := 0; i < 8; i++ {
				if _, err := w.Write(msg); err != nil {
					panic(err)
				}
				time.Sleep(200 * time.Microsecond)
			}
		}()
	}
	wg.Wait()
}
