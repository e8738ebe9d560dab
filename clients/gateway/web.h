/* web.h: the booking page's files (web/ in the repository), read into memory when the gateway
 * starts and served from there: a fixed list, so no request path ever reaches the file system. */
#ifndef CLINIC_GATEWAY_WEB_H
#define CLINIC_GATEWAY_WEB_H

#include <stddef.h>

struct web_file {
    const char *path;         /* the request path: "/", "/booking.js" */
    const char *name;         /* the file in the folder: "index.html" */
    const char *content_type; /* with its charset */
    char *data;
    size_t len;
};

struct web_files;

/* Reads every file of the page from folder root. NULL after a sentence in why (a file missing,
 * unreadable or over 1 MiB). */
struct web_files *web_load(const char *root, char *why, size_t why_len);

/* The file served at path, or NULL. */
const struct web_file *web_find(const struct web_files *files, const char *path);

void web_free(struct web_files *files);

#endif
