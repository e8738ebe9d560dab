/* notes.h: what `clinic note` reads from the command line and how it shows a note, apart from
 * the calls, so that unit tests reach them. */
#ifndef CLINIC_CLI_NOTES_H
#define CLINIC_CLI_NOTES_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "clinic/v1/notes.pb-c.h"

#define NOTES_ODI_SECTIONS 10
#define NOTES_MAX_WORDS    32 /* most --areas or --techniques in one command */

/* "3,2,-,1,0,4,2,-,1,3" as 10 answers (each 0..5, -1 for "-": unanswered); "" or "none" as no
 * ODI (*n = 0). False with a sentence in err saying what to fix. */
bool notes_parse_odi(const char *text, int32_t out[NOTES_ODI_SECTIONS], size_t *n, char *err,
                     size_t err_len);

/* The value of `word` ("lower_back", "lower-back", "Lower back") in enum d, whose value names
 * start with prefix ("BODY_REGION_"); -1 when it names none (or only the UNSPECIFIED one). */
int notes_enum_value(const ProtobufCEnumDescriptor *d, const char *prefix, const char *word);

/* The words of every named value of d ("neck, upper_back, ..."), for messages and help. */
const char *notes_enum_words(const ProtobufCEnumDescriptor *d, const char *prefix, char *out,
                             size_t len);

/* "lower back" for BODY_REGION_LOWER_BACK; "?" when value is not in d. */
const char *notes_enum_text(const ProtobufCEnumDescriptor *d, const char *prefix, int value,
                            char *out, size_t len);

/* "lower back, glutes" of a repeated enum field ("-" when empty). */
const char *notes_enum_list(const ProtobufCEnumDescriptor *d, const char *prefix, const int *values,
                            size_t n, char *out, size_t len);

struct cli;
/* The enum values of words into out (at most NOTES_MAX_WORDS); 0, or a usage error naming the
 * option, the word and the choices. */
int notes_words_to_enums(const struct cli *cli, const char *option,
                         const ProtobufCEnumDescriptor *d, const char *prefix, char *const *words,
                         size_t n, int *out);

/* "7" for a pain score, "-" when not recorded (below 0). */
const char *notes_pain_text(int32_t pain, char *out, size_t len);

/* Writes a note as a person reads it: a heading ("<done> note 12" or "Note 12"), the session,
 * pain, areas, techniques, pressure, the SOAP sections, the ODI answers and score, and the
 * amendments in order. */
void notes_write(FILE *out, const Clinic__V1__Note *note, const char *done);

#endif
