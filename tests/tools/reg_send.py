#!/usr/bin/python3
"""reg_send.py -- send registration-protocol lines to svcdns and print the replies.

usage: reg_send.py {tcp|udp} HOST PORT [--timeout S] [--source ADDR]  < lines
TCP: writes stdin as is (pipelined), half-closes, prints everything until the server closes.
UDP: sends stdin as one datagram and prints the one reply datagram ("NO REPLY" on timeout).
"""
import socket
import sys


def main():
    mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
    timeout = 5.0
    source = None
    args = sys.argv[4:]
    while args:
        if args[0] == "--timeout":
            timeout = float(args[1])
        elif args[0] == "--source":
            source = args[1]
        args = args[2:]
    data = sys.stdin.buffer.read()
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    kind = socket.SOCK_STREAM if mode == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(family, kind)
    s.settimeout(timeout)
    if source:
        s.bind((source, 0))
    if mode == "tcp":
        s.connect((host, port))
        try:
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
        except (BrokenPipeError, ConnectionResetError):
            pass
        # Replies are written as they arrive, so a caller watching the output sees
        # every acknowledged line even when the server dies half-way.
        try:
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                sys.stdout.buffer.write(chunk)
                sys.stdout.buffer.flush()
        except socket.timeout:
            print("TIMEOUT")
        except ConnectionResetError:
            print("RESET")
    else:
        s.sendto(data, (host, port))
        try:
            reply, _ = s.recvfrom(70000)
            sys.stdout.buffer.write(reply)
        except socket.timeout:
            print("NO REPLY")
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
