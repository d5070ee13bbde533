#!/usr/bin/python3
"""health_server.py -- test backends for health checks, on loopback.

  health_server.py http ADDR PORT STATUSFILE   HTTP: GET /health answers the status code
                                               written in STATUSFILE ("hang": never answers)
  health_server.py grpc ADDR PORT STATUSFILE   grpc.health.v1.Health/Check answers SERVING
                                               or NOT_SERVING as written in STATUSFILE
  health_server.py tcp ADDR PORT               accepts and closes connections

Prints "ready" once listening. The status file is read on every request, so a test
changes the answer by rewriting it."""
import socket
import sys
import threading
import time


def read_status(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return "500"


def serve_http(addr, port, path):
    import http.server

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.0"

        def do_GET(self):
            status = read_status(path)
            if status == "hang":
                time.sleep(30)
                return
            self.send_response(int(status))
            self.send_header("Content-Length", "3")
            self.end_headers()
            self.wfile.write(b"ok\n")

        def log_message(self, *args):
            pass

    class Server(http.server.ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 128

    srv = Server((addr, port), Handler)
    print("ready", flush=True)
    srv.serve_forever()


def serve_grpc(addr, port, path):
    from concurrent import futures
    import grpc

    # HealthCheckResponse{status = 1: varint}, written by hand: no generated code needed.
    def check(request, context):
        status = 1 if read_status(path) == "SERVING" else 2
        return bytes([0x08, status])

    handler = grpc.method_handlers_generic_handler("grpc.health.v1.Health", {
        "Check": grpc.unary_unary_rpc_method_handler(
            check, request_deserializer=lambda b: b, response_serializer=lambda b: b),
    })
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    server.add_generic_rpc_handlers((handler,))
    server.add_insecure_port("%s:%d" % (addr, port))
    server.start()
    print("ready", flush=True)
    server.wait_for_termination()


def serve_tcp(addr, port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port))
    s.listen(128)
    print("ready", flush=True)
    while True:
        c, _ = s.accept()
        c.close()


if __name__ == "__main__":
    kind, addr, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    if kind == "http":
        serve_http(addr, port, sys.argv[4])
    elif kind == "grpc":
        serve_grpc(addr, port, sys.argv[4])
    else:
        serve_tcp(addr, port)
