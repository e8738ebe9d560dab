/* web.c: the booking page's files (web.h). */
#include "web.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILE_BYTES (1u << 20)

static const struct web_file page[] = {
    {"/", "index.html", "text/html; charset=utf-8", NULL, 0},
    {"/booking.js", "booking.js", "text/javascript; charset=utf-8", NULL, 0},
    {"/booking.css", "booking.css", "text/css; charset=utf-8", NULL, 0},
};
#define N_FILES (sizeof page / sizeof page[0])

struct web_files {
    struct web_file files[N_FILES];
};

/* Reads root/name into f; false after a sentence in why. */
static bool read_file(const char *root, struct web_file *f, char *why, size_t why_len)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", root, f->name);
    FILE *in = fopen(path, "rb");
    if (!in) {
        snprintf(why, why_len,
                 "cannot read the booking page's %s: %s (--web-root names the "
                 "folder that holds index.html, booking.js and booking.css)",
                 path, strerror(errno));
        return false;
    }
    f->data = malloc(MAX_FILE_BYTES);
    size_t n = f->data ? fread(f->data, 1, MAX_FILE_BYTES, in) : 0;
    bool too_big = f->data && n == MAX_FILE_BYTES && fgetc(in) != EOF;
    bool failed = !f->data || ferror(in) || too_big;
    fclose(in);
    if (failed) {
        snprintf(why, why_len, "cannot read %s (%s)", path,
                 too_big    ? "over 1 MiB"
                 : !f->data ? "out of memory"
                            : "a read error");
        return false;
    }
    f->len = n;
    return true;
}

struct web_files *web_load(const char *root, char *why, size_t why_len)
{
    struct web_files *w = calloc(1, sizeof *w);
    if (!w) {
        snprintf(why, why_len, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < N_FILES; i++) {
        w->files[i] = page[i];
        if (!read_file(root, &w->files[i], why, why_len)) {
            web_free(w);
            return NULL;
        }
    }
    return w;
}

const struct web_file *web_find(const struct web_files *w, const char *path)
{
    if (!w)
        return NULL;
    if (strcmp(path, "/index.html") == 0)
        path = "/";
    for (size_t i = 0; i < N_FILES; i++)
        if (strcmp(w->files[i].path, path) == 0)
            return &w->files[i];
    return NULL;
}

void web_free(struct web_files *w)
{
    if (!w)
        return;
    for (size_t i = 0; i < N_FILES; i++)
        free(w->files[i].data);
    free(w);
}
