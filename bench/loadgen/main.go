// loadgen sends Amazon Data Firehose HTTP endpoint deliveries of simulated
// Raspberry Pi sensor readings (the seed's data) to a URL and measures how the
// server answers. Standard library only.
//
// Every request body is built (and gzip'd) before the clock starts, so the
// measurement is the server's, not the generator's. Each worker owns one
// keep-alive connection. Every record has an _id (24-hex ObjectId string) that is
// unique in this run and across runs (time + random run prefix + counter), every
// request a fresh X-Amz-Firehose-Request-Id. A request counts as ok only when it
// is answered 200 with a JSON body carrying the same requestId.
//
// One JSON line of results goes to stdout:
//
//	{"requests":..,"ok":..,"errors":{"503":2,"conn":1},"seconds":..,"records_per_s":..,
//	 "latency_ms":{"p50":..,"p90":..,"p99":..,"max":..},...}
//
//	loadgen -url http://127.0.0.1:8080/firehose/monitors -access-key k \
//	        -records 500 -requests 200 -concurrency 4 [-gzip] [-record-bytes 300] [-body-bytes N]
package main

import (
	"bytes"
	"compress/gzip"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	mrand "math/rand"
	"net/http"
	"os"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

type options struct {
	url         string
	accessKey   string
	arn         string
	records     int
	requests    int
	concurrency int
	gzip        bool
	gzipLevel   int
	recordBytes int
	bodyBytes   int
	timeout     time.Duration
	label       string
	showErrors  int
}

type request struct {
	id       string
	body     []byte // as sent (gzip'd when -gzip)
	rawBytes int    // before gzip
}

type result struct {
	latency time.Duration
	status  string // "200" when ok; otherwise the HTTP status, "badbody" or "conn"
	detail  string
}

func main() {
	var o options
	flag.StringVar(&o.url, "url", "", "the Firehose endpoint URL (required)")
	flag.StringVar(&o.accessKey, "access-key", "", "X-Amz-Firehose-Access-Key")
	flag.StringVar(&o.arn, "arn", "arn:aws:firehose:us-east-1:123456789012:deliverystream/hydrant-bench", "X-Amz-Firehose-Source-Arn")
	flag.IntVar(&o.records, "records", 500, "records per request (Firehose sends 1 to 10,000)")
	flag.IntVar(&o.requests, "requests", 100, "requests to send")
	flag.IntVar(&o.concurrency, "concurrency", 4, "parallel workers, one keep-alive connection each")
	flag.BoolVar(&o.gzip, "gzip", false, "gzip the bodies (Content-Encoding: gzip)")
	flag.IntVar(&o.gzipLevel, "gzip-level", gzip.DefaultCompression, "gzip level")
	flag.IntVar(&o.recordBytes, "record-bytes", 300, "pad each record's JSON to about this many bytes (0: no padding, ~230 B)")
	flag.IntVar(&o.bodyBytes, "body-bytes", 0, "instead of -record-bytes: size the records so one body (before gzip) is at most this many bytes")
	flag.DurationVar(&o.timeout, "timeout", 180*time.Second, "per-request timeout (Firehose waits 3 minutes)")
	flag.StringVar(&o.label, "label", "", "echoed in the output")
	flag.IntVar(&o.showErrors, "show-errors", 3, "print the first N failures to stderr")
	flag.Parse()
	if o.url == "" || o.records < 1 || o.requests < 1 || o.concurrency < 1 {
		flag.Usage()
		os.Exit(2)
	}
	if o.bodyBytes > 0 {
		o.recordBytes = recordBytesForBody(o.bodyBytes, o.records)
	}

	buildStart := time.Now()
	reqs := build(&o)
	buildSeconds := time.Since(buildStart).Seconds()
	var raw, wire int64
	for _, r := range reqs {
		raw += int64(r.rawBytes)
		wire += int64(len(r.body))
	}
	runtime.GC()

	cpu0 := cpuSeconds()
	results, seconds := send(&o, reqs)
	cpu := cpuSeconds() - cpu0
	report(&o, results, seconds, raw, wire, buildSeconds, cpu)
}

// ---------------------------------------------------------------------------------
// Bodies

// recordBytesForBody: the record JSON size that makes a body of n records at most
// `body` bytes: each record costs `{"data":"<base64>"},` = 4*ceil(b/3) + 12 bytes.
func recordBytesForBody(body, n int) int {
	const envelope = 128
	per := (body-envelope)/n - 12
	b := per / 4 * 3
	if b < 1 {
		b = 1
	}
	return b
}

// runPrefix: ObjectId bytes 0..7 = seconds since epoch + 4 random bytes; 8..11 = counter.
func runPrefix() []byte {
	p := make([]byte, 8)
	binary.BigEndian.PutUint32(p[0:4], uint32(time.Now().Unix()))
	if _, err := rand.Read(p[4:8]); err != nil {
		panic(err)
	}
	return p
}

func uuid4() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(err)
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

const padAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// reading appends one sensor reading, like the seed's Raspberry Pi script sends:
// {"_id","nodeName","humidity","temperature","pressure","isMoving","acceleration":{x,y,z},"recordedAt"}
// plus a "pad" string when the record must reach `size` bytes.
func reading(dst []byte, oid []byte, rng *mrand.Rand, at time.Time, size int) []byte {
	start := len(dst)
	dst = append(dst, `{"_id":"`...)
	dst = hex.AppendEncode(dst, oid)
	dst = append(dst, `","nodeName":"raspberrypi-`...)
	dst = strconv.AppendInt(dst, int64(1+rng.Intn(24)), 10)
	dst = append(dst, `","humidity":`...)
	dst = strconv.AppendFloat(dst, 35+rng.Float64()*20, 'f', 2, 64)
	dst = append(dst, `,"temperature":`...)
	dst = strconv.AppendFloat(dst, 18+rng.Float64()*8, 'f', 2, 64)
	dst = append(dst, `,"pressure":`...)
	dst = strconv.AppendFloat(dst, 1005+rng.Float64()*15, 'f', 2, 64)
	moving := rng.Intn(10) == 0
	jolt := 0.05
	if moving {
		jolt = 1.6
	}
	dst = append(dst, `,"isMoving":`...)
	dst = strconv.AppendBool(dst, moving)
	dst = append(dst, `,"acceleration":{"x":`...)
	dst = strconv.AppendFloat(dst, rng.NormFloat64()*jolt, 'f', 4, 64)
	dst = append(dst, `,"y":`...)
	dst = strconv.AppendFloat(dst, rng.NormFloat64()*jolt, 'f', 4, 64)
	dst = append(dst, `,"z":`...)
	dst = strconv.AppendFloat(dst, 0.97+rng.NormFloat64()*jolt, 'f', 4, 64)
	dst = append(dst, `},"recordedAt":"`...)
	dst = at.UTC().AppendFormat(dst, "2006-01-02T15:04:05.000Z")
	dst = append(dst, '"')
	const padOverhead = len(`,"pad":""}`)
	if n := size - (len(dst) - start) - padOverhead; n > 0 {
		dst = append(dst, `,"pad":"`...)
		for i := 0; i < n; i++ {
			dst = append(dst, padAlphabet[rng.Intn(len(padAlphabet))])
		}
		dst = append(dst, '"')
	}
	return append(dst, '}')
}

// build makes every request body, in parallel, before anything is sent.
func build(o *options) []request {
	reqs := make([]request, o.requests)
	prefix := runPrefix()
	base := time.Now().Add(-time.Hour)
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < runtime.GOMAXPROCS(0); w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			var rec, body []byte
			oid := make([]byte, 12)
			copy(oid, prefix)
			var gz *gzip.Writer
			var zbuf bytes.Buffer
			for {
				i := int(next.Add(1) - 1)
				if i >= o.requests {
					return
				}
				rng := mrand.New(mrand.NewSource(int64(i)*7919 + int64(binary.BigEndian.Uint32(prefix[4:8]))))
				id := uuid4()
				body = body[:0]
				body = append(body, `{"requestId":"`...)
				body = append(body, id...)
				body = append(body, `","timestamp":`...)
				body = strconv.AppendInt(body, time.Now().UnixMilli(), 10)
				body = append(body, `,"records":[`...)
				for j := 0; j < o.records; j++ {
					n := uint32(i*o.records + j)
					binary.BigEndian.PutUint32(oid[8:12], n)
					rec = reading(rec[:0], oid, rng, base.Add(time.Duration(n)*time.Millisecond), o.recordBytes)
					if j > 0 {
						body = append(body, ',')
					}
					body = append(body, `{"data":"`...)
					body = base64.StdEncoding.AppendEncode(body, rec)
					body = append(body, `"}`...)
				}
				body = append(body, "]}"...)
				r := request{id: id, rawBytes: len(body)}
				if o.gzip {
					zbuf.Reset()
					if gz == nil {
						var err error
						if gz, err = gzip.NewWriterLevel(&zbuf, o.gzipLevel); err != nil {
							fmt.Fprintln(os.Stderr, "loadgen:", err)
							os.Exit(2)
						}
					} else {
						gz.Reset(&zbuf)
					}
					gz.Write(body)
					gz.Close()
					r.body = bytes.Clone(zbuf.Bytes())
				} else {
					r.body = bytes.Clone(body)
				}
				reqs[i] = r
			}
		}(w)
	}
	wg.Wait()
	return reqs
}

// ---------------------------------------------------------------------------------
// Sending

func send(o *options, reqs []request) ([]result, float64) {
	results := make([]result, len(reqs))
	var next atomic.Int64
	var wg sync.WaitGroup
	ready := make(chan struct{})
	workers := o.concurrency
	if workers > len(reqs) {
		workers = len(reqs)
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// One transport per worker: one keep-alive connection per worker.
			tr := &http.Transport{
				MaxIdleConns:        1,
				MaxIdleConnsPerHost: 1,
				MaxConnsPerHost:     1,
				DisableCompression:  true,
				IdleConnTimeout:     5 * time.Minute,
				WriteBufferSize:     256 << 10,
				ReadBufferSize:      64 << 10,
			}
			defer tr.CloseIdleConnections()
			client := &http.Client{Transport: tr, Timeout: o.timeout}
			<-ready
			for {
				i := int(next.Add(1) - 1)
				if i >= len(reqs) {
					return
				}
				results[i] = post(o, client, &reqs[i])
			}
		}()
	}
	start := time.Now()
	close(ready)
	wg.Wait()
	return results, time.Since(start).Seconds()
}

func post(o *options, client *http.Client, r *request) result {
	hreq, err := http.NewRequest(http.MethodPost, o.url, bytes.NewReader(r.body))
	if err != nil {
		return result{status: "conn", detail: err.Error()}
	}
	hreq.ContentLength = int64(len(r.body))
	h := hreq.Header
	h["Content-Type"] = []string{"application/json"}
	h["X-Amz-Firehose-Protocol-Version"] = []string{"1.0"}
	h["X-Amz-Firehose-Request-Id"] = []string{r.id}
	h["X-Amz-Firehose-Source-Arn"] = []string{o.arn}
	if o.accessKey != "" {
		h["X-Amz-Firehose-Access-Key"] = []string{o.accessKey}
	}
	if o.gzip {
		h["Content-Encoding"] = []string{"gzip"}
	}
	t0 := time.Now()
	resp, err := client.Do(hreq)
	if err != nil {
		return result{latency: time.Since(t0), status: "conn", detail: err.Error()}
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	lat := time.Since(t0)
	if err != nil {
		return result{latency: lat, status: "conn", detail: err.Error()}
	}
	if resp.StatusCode != http.StatusOK {
		return result{latency: lat, status: strconv.Itoa(resp.StatusCode), detail: string(truncate(body, 300))}
	}
	var answer struct {
		RequestID string          `json:"requestId"`
		Timestamp json.RawMessage `json:"timestamp"`
	}
	if err := json.Unmarshal(body, &answer); err != nil || answer.RequestID != r.id ||
		len(answer.Timestamp) == 0 || answer.Timestamp[0] < '0' || answer.Timestamp[0] > '9' {
		return result{latency: lat, status: "badbody", detail: "200 with " + string(truncate(body, 300))}
	}
	return result{latency: lat, status: "200"}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// ---------------------------------------------------------------------------------
// Results

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	tv := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

func percentile(sorted []float64, p float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	// nearest rank
	k := int(p/100*float64(len(sorted)) + 0.999999)
	if k < 1 {
		k = 1
	}
	if k > len(sorted) {
		k = len(sorted)
	}
	return sorted[k-1]
}

func round(x float64, digits int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', digits, 64), 64)
	return v
}

func report(o *options, results []result, seconds float64, raw, wire int64, buildSeconds, cpu float64) {
	errors := map[string]int{}
	ok := 0
	var lat []float64
	shown := 0
	for _, r := range results {
		lat = append(lat, float64(r.latency)/float64(time.Millisecond))
		if r.status == "200" {
			ok++
			continue
		}
		errors[r.status]++
		if shown < o.showErrors {
			fmt.Fprintf(os.Stderr, "loadgen: %s: %s\n", r.status, r.detail)
			shown++
		}
	}
	sort.Float64s(lat)
	var sum float64
	for _, v := range lat {
		sum += v
	}
	n := float64(len(results))
	out := map[string]any{
		"label":               o.label,
		"url":                 o.url,
		"requests":            len(results),
		"ok":                  ok,
		"errors":              errors,
		"records_per_request": o.records,
		"record_bytes":        o.recordBytes,
		"records_ok":          ok * o.records,
		"gzip":                o.gzip,
		"concurrency":         o.concurrency,
		"body_bytes_avg":      raw / int64(len(results)),
		"wire_bytes_avg":      wire / int64(len(results)),
		"seconds":             round(seconds, 4),
		"requests_per_s":      round(n/seconds, 2),
		"records_per_s":       round(float64(ok*o.records)/seconds, 1),
		"mb_per_s":            round(float64(raw)/seconds/1e6, 2),
		"latency_ms": map[string]float64{
			"p50":  round(percentile(lat, 50), 2),
			"p90":  round(percentile(lat, 90), 2),
			"p99":  round(percentile(lat, 99), 2),
			"max":  round(percentile(lat, 100), 2),
			"mean": round(sum/n, 2),
		},
		"build_seconds": round(buildSeconds, 3),
		"loadgen_cpu_s": round(cpu, 3),
	}
	enc := json.NewEncoder(os.Stdout)
	if err := enc.Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}
