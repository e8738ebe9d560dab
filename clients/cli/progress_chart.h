/* progress_chart.h: a client's course of care drawn: a sparkline for the terminal and a
 * self-contained SVG line chart for a browser. Pure functions of the reply, so unit tests reach
 * them without a daemon. */
#ifndef CLINIC_CLI_PROGRESS_CHART_H
#define CLINIC_CLI_PROGRESS_CHART_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clinic/v1/notes.pb-c.h"

/* True when the locale the environment names (LC_ALL, else LC_CTYPE, else LANG: the first one
 * set) is UTF-8; block characters are drawn only then, plain ASCII otherwise. */
bool progress_utf8(void);

/* One character per value into out: ▁▂▃▄▅▆▇█ (utf8) or _.-:=+*# (ASCII) from 0 to max, a space
 * for a missing value (below 0). Returns out; cut short (whole characters) when len is small. */
const char *progress_sparkline(const double *values, size_t n, double max, bool utf8, char *out,
                               size_t len);

/* Writes s with &, <, >, " and ' escaped for XML text and attributes; characters XML 1.0 forbids
 * (control characters) become '?'. */
void progress_xml_escape(FILE *out, const char *s);

/* The time axis: the tick step in days for a course spanning span_days (1, 2, 7, 14, 28, ...
 * days: at most 8 steps, whole weeks from two weeks on). */
double progress_day_step(double span_days);

/* The x position of `day` on an axis from left (day 0) to right (day span_days): proportional
 * to the days, clamped to the axis; the middle when span_days is 0 (everything on one day). */
double progress_day_x(double day, double span_days, double left, double right);

/* Writes the course as an SVG document on a time axis in real days from the course start:
 * pain before and after and the PSFS mean (left axis, 0-10), ODI and RMDQ (right axis, 0-100 %
 * of the scale), STarT Back screenings marked with their risk group, session numbers and dates
 * at their days, rings where a change reaches the MCID, a tooltip per point, a legend, and a
 * title with the client's name. False on a write error or when out of memory. */
bool progress_svg_write(FILE *out, const Clinic__V1__ClientProgressResponse *r);

#endif
