"""bench.run reads wrk's report: the figures the benchmark verdicts rest on."""

from bench.run import parse_wrk

REPORT = """Running 10s test @ http://127.0.0.1:42299/
  32 threads and 32 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   603.70ms  132.00ms   1.22s    77.39%
  Latency Distribution
     50%  594.16ms
     75%  678.02ms
     90%  730.43ms
     99%    1.12s{pad}
  522 requests in 10.10s, 3.30MB read
  Socket errors: connect 0, read 2, write 0, timeout 1
Requests/sec:     51.68
""".format(pad=" ")  # wrk pads short values


def test_percentiles_in_seconds_with_wrks_padding_are_read():
    figures = parse_wrk(REPORT)
    assert figures["percentiles_ms"] == {"50": 594.16, "75": 678.02, "90": 730.43,
                                         "99": 1120.0}
    assert (figures["requests"], figures["rps"]) == (522, 51.7)
    assert figures["socket_errors"] == {"connect": 0, "read": 2, "write": 0, "timeout": 1}
