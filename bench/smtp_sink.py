"""A local SMTP server for the benchmark: accepts every message and writes
"<cmiuuid> <receive_epoch_ms>" per alert (from its Message-ID) to the file given."""
import asyncore
import re
import smtpd
import sys
import time
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)
port, out_path = int(sys.argv[1]), sys.argv[2]
out = open(out_path, "a", buffering=1)
MESSAGE_ID = re.compile(rb"^Message-ID: <([A-Za-z0-9-]+)\.alert@", re.MULTILINE | re.IGNORECASE)


class Sink(smtpd.SMTPServer):
    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        received = int(time.time() * 1000)
        raw = data if isinstance(data, bytes) else data.encode()
        match = MESSAGE_ID.search(raw)
        if match:
            out.write("%s %d\n" % (match.group(1).decode(), received))
        return None


Sink(("127.0.0.1", port), None, decode_data=False)
print("smtp sink on", port, flush=True)
asyncore.loop(timeout=0.5)
