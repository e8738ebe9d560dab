#!/usr/bin/python3
"""smtp_sink.py: a real SMTP server (aiosmtpd) for the mail tests.

    smtp_sink.py PORT DIR

Each message it accepts is written whole to DIR/msg-N.eml (N counts up from 1), after which the
server answers 250. DIR/ready is written once it listens. Files in DIR steer it, so a test can
change its behaviour while it runs:

  DIR/stall   while it exists, a message's DATA is received but never answered: a test kills the
              sending daemon then. A connection that goes away meanwhile leaves no file, as a real
              server discards a DATA it did not acknowledge.
  DIR/refuse  holds a number N: the next N messages are refused with "451 4.3.0 try again
              later" (the number counts down).
"""
import asyncio
import os
import sys

from aiosmtpd.controller import Controller


class Sink:
    def __init__(self, folder):
        self.folder = folder
        self.count = 0

    def path(self, name):
        return os.path.join(self.folder, name)

    def take_refusal(self):
        try:
            with open(self.path("refuse")) as f:
                left = int(f.read().strip() or "0")
        except (OSError, ValueError):
            return False
        if left <= 0:
            return False
        with open(self.path("refuse.tmp"), "w") as f:
            f.write(str(left - 1))
        os.replace(self.path("refuse.tmp"), self.path("refuse"))
        return True

    async def handle_DATA(self, server, session, envelope):
        if self.take_refusal():
            return "451 4.3.0 try again later"
        if os.path.exists(self.path("stall")):
            with open(self.path("stalled"), "w") as f:
                f.write("1")
            # cancelled when the client goes away: nothing is written then
            while os.path.exists(self.path("stall")):
                await asyncio.sleep(0.05)
        self.count += 1
        name = self.path("msg-%d.eml" % self.count)
        with open(name + ".tmp", "wb") as f:
            f.write(envelope.original_content)
        os.replace(name + ".tmp", name)
        return "250 OK message accepted"


def main():
    port, folder = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Sink(folder), hostname="127.0.0.1", port=port)
    controller.start()
    with open(os.path.join(folder, "ready"), "w") as f:
        f.write(str(port))
    try:
        while True:
            asyncio.run(asyncio.sleep(3600))
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
