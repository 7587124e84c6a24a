module hydrant/bench/loadgen

go 1.22
