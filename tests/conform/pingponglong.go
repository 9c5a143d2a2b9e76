// Blocking pairs, long: pingpong.go with ten times the rounds, a trace of
// about 5,000 events (the conformance benchmark's large case).
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
	pair(400, &wg)
	pair(400, &wg)
	wg.Wait()
}
