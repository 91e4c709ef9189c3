# A backend for the tlstunnel benchmark: reads an HTTP request head, answers 200 with the number of bytes asked in
# the path (GET /N), then closes; a connection closed before any request (openssl s_time) is just closed.
import socket, sys, threading

CHUNK = memoryview(b'\0' * (1 << 20))

def serve(c):
    try:
        head = b''
        while b'\r\n\r\n' not in head:
            d = c.recv(65536)
            if not d:
                return
            head += d
        path = head.split(b' ', 2)[1].decode()
        n = int(path.strip('/') or '0')
        c.sendall(b'HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n' % n)
        while n > 0:
            k = min(n, len(CHUNK))
            c.sendall(CHUNK[:k])
            n -= k
    except OSError:
        pass
    finally:
        c.close()

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(('127.0.0.1', int(sys.argv[1])))
s.listen(1024)
while True:
    c, _ = s.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
