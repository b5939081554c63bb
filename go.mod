module github.com/p2pcache/p2pcache

go 1.26
