/* cmd_client_export.c: `clinic admin client export ID [--output FILE]`: everything clinicd holds
 * about one client as one JSON document (GDPR articles 15 and 20), indented for reading, on
 * standard output or into a new file that only its owner may read: it holds health records. */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "clinic/v1/client_data.pb-c.h"
#include "cmd_admin.h"
#include "options.h"

/* Writes the document indented (its sections in the daemon's order) to out. False when it is not
 * JSON (a daemon of another version) or cannot be written. */
static bool write_document(const char *document, FILE *out)
{
    json_error_t error;
    json_t *doc = json_loads(document, 0, &error);
    if (!doc) {
        fprintf(stderr,
                "clinic: the daemon's export is not JSON (%s at line %d); nothing written\n",
                error.text, error.line);
        return false;
    }
    bool ok =
        json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER) == 0 && fputc('\n', out) != EOF;
    json_decref(doc);
    return ok;
}

/* A new file at path, mode 0600; never an existing one (an earlier export stays as it was). */
static FILE *create_private(struct cli *cli, const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        if (errno == EEXIST)
            cli_usage_error(cli,
                            "%s exists already; choose another --output (an export is "
                            "never written over)",
                            path);
        else
            fprintf(stderr, "clinic: cannot create %s: %s\n", path, strerror(errno));
        return NULL;
    }
    FILE *f = fdopen(fd, "w");
    if (!f)
        close(fd);
    return f;
}

int cmd_client_export(struct cli *cli, int argc, char **argv)
{
    Clinic__V1__ExportClientRequest req = CLINIC__V1__EXPORT_CLIENT_REQUEST__INIT;
    char *output = NULL;
    struct option opts[] = {
        OPT("ID", OPTION_ID, &req.client_id, "the client",
            .flags = OPTION_POSITIONAL | OPTION_REQUIRED, .field = "client_id"),
        OPT("output", OPTION_STRING, &output,
            "write it into this new file (mode 0600) instead of standard output"),
        OPTIONS_END,
    };
    int code;
    if (!admin_parse(cli, opts, argc, argv, &code))
        return code;
    FILE *out = stdout;
    if (output && *output && !(out = create_private(cli, output))) {
        options_free(opts);
        return EXIT_USAGE;
    }
    ProtobufCMessage *resp;
    code = cli_call(cli, "/clinic.v1.ClientData/ExportClient", &req.base,
                    &clinic__v1__client_export__descriptor, &resp);
    if (code == 0) {
        const Clinic__V1__ClientExport *e = (const Clinic__V1__ClientExport *)resp;
        if (!write_document(e->document, out))
            code = EXIT_USAGE;
        else if (out != stdout)
            fprintf(stderr, "Exported client %lld's data (%s) into %s.\n", (long long)e->client_id,
                    e->exported_at, output);
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    if (out != stdout && fclose(out) != 0 && code == 0) {
        fprintf(stderr, "clinic: cannot write %s: %s\n", output, strerror(errno));
        code = EXIT_USAGE;
    }
    if (out != stdout && code != 0)
        unlink(output); /* no half-written export left behind */
    options_free(opts);
    return code;
}
