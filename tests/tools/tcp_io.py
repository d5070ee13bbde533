"""tcp_io.py -- shared by the test tools: reading DNS-over-TCP messages."""


def recv_exact(conn, n):
    """Reads exactly n bytes from a socket; None when the peer closes first."""
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data
