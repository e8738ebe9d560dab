#!/usr/bin/python3
"""Checks a calendar feed against what the test booked, reading it with a real iCalendar parser
(python3-icalendar), apart from libical that wrote it, and converting its UTC times with Python's
own zone database (zoneinfo), apart from PostgreSQL's.

usage: ics_check.py FEED.ics EXPECT.json

EXPECT.json: {"zone": "Europe/Berlin", "name": "...", "forbid": ["text never in the feed"],
              "events": [{"id": 12, "start": "2027-03-28T09:00:00+02:00", "end": "...",
                          "local_start": "2027-03-28 09:00", "sequence": 0,
                          "cancelled": false, "summary_has": ["Back pain", "J. S."]}]}
The feed must hold exactly these appointments. Exit 0 when it does, 1 with the reasons when not.
"""
import datetime
import json
import re
import sys
import zoneinfo

import icalendar

UID = re.compile(r"^appointment-(\d+)@[0-9a-f]{32}\.clinicd$")


def check(feed_text, expect):
    problems = []
    cal = icalendar.Calendar.from_ical(feed_text)
    if str(cal.get("VERSION")) != "2.0" or not cal.get("PRODID"):
        problems.append("the calendar lacks VERSION:2.0 or PRODID")
    if str(cal.get("X-WR-CALNAME")) != expect["name"]:
        problems.append(f"X-WR-CALNAME is {cal.get('X-WR-CALNAME')!r}, not {expect['name']!r}")
    zone = zoneinfo.ZoneInfo(expect["zone"])
    wanted = {e["id"]: e for e in expect["events"]}
    seen = set()
    for ev in cal.walk("VEVENT"):
        uid = str(ev.get("UID"))
        m = UID.match(uid)
        if not m:
            problems.append(f"UID {uid!r} is not appointment-ID@<domain>.clinicd")
            continue
        aid = int(m.group(1))
        if aid in seen:
            problems.append(f"appointment {aid} appears twice")
        seen.add(aid)
        want = wanted.get(aid)
        if want is None:
            problems.append(f"appointment {aid} is in the feed but was not expected")
            continue
        for prop in ("DTSTAMP", "DTSTART", "DTEND", "SEQUENCE", "STATUS", "SUMMARY", "CREATED",
                     "LAST-MODIFIED"):
            if ev.get(prop) is None:
                problems.append(f"appointment {aid} has no {prop}")
        if any(ev.get(p) is None for p in ("DTSTART", "DTEND", "SEQUENCE", "STATUS")):
            continue
        start, end = ev.decoded("DTSTART"), ev.decoded("DTEND")
        if start.utcoffset() != datetime.timedelta(0):
            problems.append(f"appointment {aid}: DTSTART {start} is not in UTC")
        if start != datetime.datetime.fromisoformat(want["start"]):
            problems.append(f"appointment {aid}: DTSTART {start} is not {want['start']}")
        if end != datetime.datetime.fromisoformat(want["end"]):
            problems.append(f"appointment {aid}: DTEND {end} is not {want['end']}")
        local = start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        if local != want["local_start"]:
            problems.append(f"appointment {aid}: starts {local} in {expect['zone']}, "
                            f"not {want['local_start']}")
        if int(ev.get("SEQUENCE")) != want["sequence"]:
            problems.append(f"appointment {aid}: SEQUENCE {ev.get('SEQUENCE')}, "
                            f"not {want['sequence']}")
        status = str(ev.get("STATUS"))
        if status != ("CANCELLED" if want["cancelled"] else "CONFIRMED"):
            problems.append(f"appointment {aid}: STATUS {status}")
        summary = str(ev.get("SUMMARY"))
        for part in want.get("summary_has", []):
            if part not in summary:
                problems.append(f"appointment {aid}: SUMMARY {summary!r} lacks {part!r}")
    for aid in wanted.keys() - seen:
        problems.append(f"appointment {aid} is missing from the feed")
    unfolded = re.sub(r"\r?\n[ \t]", "", feed_text.decode("utf-8"))
    for text in expect.get("forbid", []):
        if text.lower() in unfolded.lower():
            problems.append(f"the feed contains {text!r}")
    return problems, len(seen)


def main():
    with open(sys.argv[1], "rb") as f:
        feed_text = f.read()
    with open(sys.argv[2], encoding="utf-8") as f:
        expect = json.load(f)
    problems, n = check(feed_text, expect)
    for p in problems:
        print("ics_check:", p)
    if not problems:
        print(f"ics_check: {n} events as expected")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
