"""Cold start of a Lambda function binary against a local stub of the Lambda runtime API.

    python3 bench/lambda_coldstart.py RUNS BINARY [BINARY ...]

For each binary, RUNS times: start a fresh process with AWS_LAMBDA_RUNTIME_API pointing at a
stub HTTP server in this process and the environment the functions read (dummy table, bucket and
queue names, region, static credentials), and measure the time from just before the process is
spawned to the moment the stub receives its first `GET /2018-06-01/runtime/invocation/next`
(the end of the function's init phase); then kill the process. Every AWS client is pointed
(PEC_AWS_ENDPOINT_URL) at a second stub that counts connections: a function must make none
before its first poll (it would answer S3 `GetObject` with 404 NoSuchKey, so a function that
does read before polling still starts, and the count shows it).

Prints one JSON object per binary: runs, median/p90/min/max wall time in ms, the median CPU time
the process used up to its first poll (all threads, from /proc: what the wall time would be on an
idle machine, less waiting), AWS connections before the first poll (total over all runs).
"""

import http.server
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time

NEXT = "/2018-06-01/runtime/invocation/next"


class RuntimeStub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    first_poll = None  # (monotonic_ns, event)

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if self.path == NEXT:
            cell = type(self).first_poll
            if cell is not None and cell[0] is None:
                cell[0] = time.monotonic_ns()
                cell[1].set()
            # Never answer: the process is killed once the poll is seen.
            time.sleep(30)
            return
        self.send_error(404)

    def log_message(self, *args):
        pass


class AwsStub(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    connections = 0

    def setup(self):
        type(self).connections += 1
        super().setup()

    def _no_such_key(self):
        body = (b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>NoSuchKey</Code>'
                b"<Message>The specified key does not exist.</Message></Error>")
        self.send_response(404)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = _no_such_key  # noqa: N815
    do_POST = _no_such_key  # noqa: N815
    do_PUT = _no_such_key  # noqa: N815

    def log_message(self, *args):
        pass


def cpu_ms(pid):
    """CPU time the process has used so far (all its threads; it is blocked on its first poll),
    from /proc/PID/task/*/schedstat: independent of how loaded the machine is."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
            total += int(f.read().split()[0])
    return total / 1e6


def serve(handler):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main():
    runs = int(sys.argv[1])
    binaries = sys.argv[2:]
    runtime = serve(RuntimeStub)
    aws = serve(AwsStub)
    env_base = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{runtime.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": "pec-bench",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/pec-bench",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/28/[$LATEST]bench",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "AKIDBENCH",
        "AWS_SECRET_ACCESS_KEY": "bench-secret",
        "AWS_SESSION_TOKEN": "bench-token",
        "AWS_EC2_METADATA_DISABLED": "true",
        "PEC_LEDGER_TABLE": "pec-bench-ledger",
        "PEC_STATE_TABLE": "pec-bench-state",
        "PEC_BUCKET": "pec-bench-bucket",
        "PEC_SECRETS_PREFIX": "/pec/webhook-secrets/",
        "PEC_SETTLE_QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/000000000000/pec-bench",
        "PEC_AWS_ENDPOINT_URL": f"http://127.0.0.1:{aws.server_address[1]}",
        "RUST_LOG": "info",
    }
    for binary in binaries:
        times, cpu = [], []
        AwsStub.connections = 0
        for _ in range(runs):
            cell = [None, threading.Event()]
            RuntimeStub.first_poll = cell
            start = time.monotonic_ns()
            proc = subprocess.Popen([binary], env=env_base, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE)
            if not cell[1].wait(10):
                proc.kill()
                err = proc.communicate()[1].decode(errors="replace")
                sys.exit(f"{binary}: no poll of the runtime API within 10 s\n{err}")
            times.append((cell[0] - start) / 1e6)
            cpu.append(cpu_ms(proc.pid))
            proc.kill()
            proc.wait()
        times.sort()
        cpu.sort()
        print(json.dumps({
            "binary": os.path.basename(binary),
            "runs": runs,
            "median_ms": round(statistics.median(times), 2),
            "p90_ms": round(times[min(len(times) - 1, int(0.9 * len(times)))], 2),
            "min_ms": round(times[0], 2),
            "max_ms": round(times[-1], 2),
            "cpu_median_ms": round(statistics.median(cpu), 2),
            "aws_connections_before_first_poll": AwsStub.connections,
        }), flush=True)


if __name__ == "__main__":
    socket.setdefaulttimeout(30)
    main()
