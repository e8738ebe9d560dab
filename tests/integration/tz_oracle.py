#!/usr/bin/python3
"""tz_oracle.py: what clinicd must answer around clock changes, worked out apart from PostgreSQL.

test_time_zones.c asks this script and compares. It reads the same IANA rules as the daemon
(/usr/share/zoneinfo, Debian's tzdata) through another implementation, Python's zoneinfo, and
states the rule of docs/scheduling.md ("Clock changes") in its own words: a local time the
clocks pass twice means the first pass, one they skip is read with the offset from before the
change; that is RFC 5545's rule and Python's fold=0.

  tz_oracle.py changes ZONE MONTHS
      every change of ZONE's UTC offset from now over MONTHS months, one per line:
      "EPOCH OFFSET_BEFORE OFFSET_AFTER" (seconds)
  tz_oracle.py local ZONE "YYYY-MM-DD HH:MM"...
      the instant each typed local time means: "EPOCH OFFSET", or "skipped", a line each
  tz_oracle.py slots ZONE FROM TO STEP DURATION CLEANUP START END [BUSY_FROM-BUSY_TO ...]
      the starts (FROM <= start < TO, epochs) a therapist who works START-END ("HH:MM",
      END may be 24:00) every local day offers for a DURATION-minute session followed by
      CLEANUP minutes, on the grid of STEP minutes from local midnight, outside the BUSY spans
      (epochs, cleanup included): "EPOCH OFFSET" per line.
"""
import sys
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo


def offset_at(epoch, zone):
    return int(datetime.fromtimestamp(epoch, zone).utcoffset().total_seconds())


def changes(zone, months):
    """Scans hour by hour, then narrows each change down to the second."""
    start = int(time.time()) // 3600 * 3600
    end = start + months * 31 * 86400
    before = offset_at(start, zone)
    for t in range(start + 3600, end, 3600):
        after = offset_at(t, zone)
        if after == before:
            continue
        lo, hi = t - 3600, t  # offset(lo) == before, offset(hi) == after
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if offset_at(mid, zone) == before:
                lo = mid
            else:
                hi = mid
        print(hi, before, after)
        before = after


def instant(local, zone):
    """fold=0: the first pass of a repeated time, the offset before the change for a skipped one."""
    return int(local.replace(tzinfo=zone, fold=0).timestamp())


def exists(local, zone):
    t = instant(local, zone)
    return datetime.fromtimestamp(t, zone).replace(tzinfo=None) == local


def local_time(epoch, zone):
    return datetime.fromtimestamp(epoch, zone).replace(tzinfo=None)


def windows(zone, first_day, last_day, start, end):
    """The working windows of each local day, merged where they touch."""
    merged = []
    day = first_day
    while day <= last_day:
        midnight = datetime(day.year, day.month, day.day)
        lo = instant(midnight + start, zone)
        hi = instant(midnight + end, zone)
        if lo < hi:
            if merged and merged[-1][1] >= lo:
                merged[-1][1] = max(merged[-1][1], hi)
            else:
                merged.append([lo, hi])
        day += timedelta(days=1)
    return merged


def hours_minutes(text):
    h, m = text.split(":")
    return timedelta(hours=int(h), minutes=int(m))


def slots(zone, first, last, step, duration, cleanup, start, end, busy):
    span_days = (local_time(first, zone) - timedelta(days=1)).date(), \
        (local_time(last, zone) + timedelta(days=1)).date()
    free = windows(zone, span_days[0], span_days[1], hours_minutes(start), hours_minutes(end))
    length = (duration + cleanup) * 60
    s = (first + 59) // 60 * 60
    while s < last:
        reading = local_time(s, zone)
        on_grid = (reading.hour * 60 + reading.minute) % step == 0 and reading.second == 0
        fits = any(lo <= s and s + length <= hi for lo, hi in free)
        taken = any(b_lo < s + length and s < b_hi for b_lo, b_hi in busy)
        if on_grid and fits and not taken:
            print(s, offset_at(s, zone))
        s += 60


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    what, zone = argv[1], ZoneInfo(argv[2])
    if what == "changes":
        changes(zone, int(argv[3]))
    elif what == "local":
        for typed in argv[3:]:
            local = datetime.strptime(typed, "%Y-%m-%d %H:%M")
            print(f"{instant(local, zone)} {offset_at(instant(local, zone), zone)}"
                  if exists(local, zone) else "skipped")
    elif what == "slots":
        first, last, step, duration, cleanup = (int(a) for a in argv[3:8])
        busy = [tuple(int(x) for x in b.split("-")) for b in argv[10:]]
        slots(zone, first, last, step, duration, cleanup, argv[8], argv[9], busy)
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
