#!/usr/bin/python3
"""mail_read.py: the mail test's oracle, apart from clinicd's own code.

    mail_read.py messages DIR     every DIR/msg-*.eml as a JSON list, read with Python's email
                                  package: file, message_id, from, to, subject (RFC 2047
                                  decoded), body (quoted-printable decoded), headers (names),
                                  and crlf (true when every line of the raw message ends CRLF)
    mail_read.py when INSTANT ZONE
                                  an instant (RFC 3339) as the English text of its local time in
                                  ZONE by Python's zoneinfo: "Monday, 29 March 2027 at 09:00"
"""
import datetime
import email
import email.policy
import glob
import json
import os
import sys
import zoneinfo

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
          "September", "October", "November", "December"]


def messages(folder):
    out = []
    for path in sorted(glob.glob(os.path.join(folder, "msg-*.eml"))):
        raw = open(path, "rb").read()
        m = email.message_from_bytes(raw, policy=email.policy.default)
        lines = raw.split(b"\n")[:-1]
        out.append({
            "file": os.path.basename(path),
            "message_id": str(m["Message-ID"] or ""),
            "from": str(m["From"] or ""),
            "to": str(m["To"] or ""),
            "subject": str(m["Subject"] or ""),
            "date": str(m["Date"] or ""),
            "headers": list(m.keys()),
            "content_type": m.get_content_type(),
            "charset": m.get_content_charset() or "",
            "body": m.get_content(),
            "crlf": all(line.endswith(b"\r") for line in lines),
        })
    json.dump(out, sys.stdout)


def when(instant, zone):
    t = datetime.datetime.fromisoformat(instant).astimezone(zoneinfo.ZoneInfo(zone))
    print("%s, %d %s %d at %02d:%02d" % (WEEKDAYS[t.weekday()], t.day, MONTHS[t.month - 1],
                                        t.year, t.hour, t.minute), end="")


if __name__ == "__main__":
    if sys.argv[1] == "messages":
        messages(sys.argv[2])
    else:
        when(sys.argv[2], sys.argv[3])
