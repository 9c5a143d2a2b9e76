// Blocking pairs: two pairs of goroutines pass a token back and forth over
// unbuffered channels, so each send readies the partner (runnext) and
// blocks.
package main

import "sync"

func pair(rounds int, wg *sync.WaitGroup) {
	ping, pong := make(chan int), make(chan int)
	wg.Add(2)
	go func() {
		defer wg.Done()
		for i := 0; i < rounds; i++ {
			ping <- i
			<-pong
		}
		close(ping)
	}()
	go func() {
		defer wg.Done()
		for v := range ping {
			pong <- v
		}
	}()
}

func main() {
	var wg sync.WaitGroup
	pair(40, &wg)
	pair(40, &wg)
	wg.Wait()
}
