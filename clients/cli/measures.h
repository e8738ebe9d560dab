/* measures.h: what `clinic measure` reads from the command line and how it shows a questionnaire,
 * apart from the calls, so that unit tests and `clinic progress` reach them. */
#ifndef CLINIC_CLI_MEASURES_H
#define CLINIC_CLI_MEASURES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clinic/v1/measures.pb-c.h"
#include "table.h"

#define MEASURES_RMDQ_ITEMS      24
#define MEASURES_STARTBACK_ITEMS 9
#define MEASURES_PSFS_MAX        5
#define MEASURES_PSFS_NAME_MAX   60

/* "1,0,1,..." (or y/n, yes/no) as the RMDQ's 24 answers. False with a sentence in err. */
bool measures_parse_rmdq(const char *text, int32_t out[MEASURES_RMDQ_ITEMS], char *err,
                         size_t err_len);

/* "1,0,1,1,0,0,1,0,very-much": items 1-8 as 1/0 (or agree/disagree), item 9 as not-at-all,
 * slightly, moderately, very-much or extremely (or 0-4). False with a sentence in err. */
bool measures_parse_startback(const char *text, int32_t out[MEASURES_STARTBACK_ITEMS], char *err,
                              size_t err_len);

/* "bending:3,walking:5": 1 to 5 activities, NAME:RATING (0-10), the rating after the last
 * colon. names[i] point into buf (a copy of text, at least strlen(text) + 1 bytes). False with
 * a sentence in err. */
bool measures_parse_psfs(const char *text, char *buf, char *names[MEASURES_PSFS_MAX],
                         int32_t ratings[MEASURES_PSFS_MAX], size_t *n, char *err, size_t err_len);

/* "RMDQ", "PSFS", "STarT Back" ("?" for anything else). */
const char *measures_kind_name(Clinic__V1__MeasureKind kind);
/* "low", "medium", "high"; "not screened" for UNSPECIFIED. */
const char *measures_risk_name(Clinic__V1__StartBackRisk risk);

/* The score as a person reads it: "8 of 24", "4.33 of 10", "5 of 9". */
const char *measures_score_text(const Clinic__V1__Measure *m, char *out, size_t len);

/* The columns measures_add_row fills, and the rows: #, KIND, ANSWERED, DAY, SCORE, CHANGE,
 * MCID, DETAILS (PSFS activities; STarT Back subscale and risk group). */
#define MEASURES_COLUMNS 8
extern const char *const measures_headers[MEASURES_COLUMNS];
void measures_add_row(struct table *t, const Clinic__V1__Measure *m);

/* The lines under a table of measures: how each flag is decided, and its sources. */
void measures_print_rules(FILE *out);

#endif
