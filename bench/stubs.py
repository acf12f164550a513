"""Flaky stand-ins for the soak run: an SMTP server and TeleCMI's play API that each fail 10% of
the time (SMTP 451, HTTP 500), and otherwise accept the alert / answer a small WAV."""
import asyncore
import random
import smtpd
import sys
import threading
import warnings
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

warnings.filterwarnings("ignore", category=DeprecationWarning)
smtp_port, http_port, failure_rate = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
WAV = b"RIFF" + b"\0" * 4 + b"WAVE" + bytes(4084)
counts = {"smtp_ok": 0, "smtp_failed": 0, "http_ok": 0, "http_failed": 0}


class Smtp(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        if random.random() < failure_rate:
            counts["smtp_failed"] += 1
            return "451 4.3.0 try again later"
        counts["smtp_ok"] += 1
        return None


class Play(BaseHTTPRequestHandler):
    def do_GET(self):
        if random.random() < failure_rate:
            counts["http_failed"] += 1
            self.send_response(500)
            self.end_headers()
            return
        counts["http_ok"] += 1
        self.send_response(200)
        self.send_header("Content-Type", "audio/wav")
        self.send_header("Content-Length", str(len(WAV)))
        self.end_headers()
        self.wfile.write(WAV)

    def log_message(self, *args):
        pass


def report():
    while True:
        threading.Event().wait(10)
        print("stubs", counts, flush=True)


Smtp(("127.0.0.1", smtp_port), None, decode_data=False).listen(1024)
threading.Thread(target=ThreadingHTTPServer(("127.0.0.1", http_port), Play).serve_forever, daemon=True).start()
threading.Thread(target=report, daemon=True).start()
print("stubs up", flush=True)
import atexit
atexit.register(lambda: print("stubs", counts, flush=True))
asyncore.loop(timeout=0.5)
