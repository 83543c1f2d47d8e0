/*
 * nexttok zip MODEL IN OUT / nexttok unzip MODEL IN OUT: prediction as
 * compression (nexttok_zip_compress). OUT is written to a temporary file
 * beside it and renamed into place only when everything succeeded, so a
 * failed or interrupted run leaves no partial OUT.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"
#include "progress.h"

static void zip_usage(void)
{
    printf("usage: nexttok zip MODEL IN OUT [--ctx N] [--threads T] [--force] [--quiet]\n\n"
           "Compress IN (any bytes) into OUT by range coding its tokens with MODEL's\n"
           "next-token probabilities. Unzip needs the same model file (its digest is in\n"
           "OUT), and gives IN back exactly, on any machine: the model runs in portable\n"
           "precision, bit-identical on every CPU. Text that does not survive\n"
           "tokenization unchanged is kept as raw bytes; input that does not compress is\n"
           "stored. Texts longer than the window run in a sliding window.\n\n"
           "Prints a summary (bytes in and out, bits per byte, speed) on stdout and\n"
           "progress on stderr when it is a terminal. OUT appears only when complete.\n\n"
           "  --ctx N              window in tokens (default the model's context, at most 1024)\n"
           "  --threads T          threads of the forward pass (0 = all cores)\n"
           "  --force              overwrite OUT if it exists\n"
           "  --quiet              no summary\n");
}

static void unzip_usage(void)
{
    printf("usage: nexttok unzip MODEL IN OUT [--threads T] [--force] [--quiet]\n\n"
           "Decompress IN, made by nexttok zip with the same MODEL, into OUT. Refused with\n"
           "a message, and without writing OUT: another model, a truncated or corrupted\n"
           "file, or not a zip file at all.\n\n"
           "  --threads T          threads of the forward pass (0 = all cores)\n"
           "  --force              overwrite OUT if it exists\n"
           "  --quiet              no summary\n");
}

typedef struct zip_options {
    const char *pos[3];
    int n_pos;
    int64_t n_ctx, n_threads;
    int force, quiet;
} zip_options;

/* 0: parsed; otherwise the exit status (after --help: 0 via *done). */
static int parse(int argc, char **argv, const char *cmd, void (*usage)(void), bool with_ctx, zip_options *o,
                 bool *done)
{
    *done = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int r = 0;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            *done = true;
            return 0;
        }
        if (strcmp(a, "--force") == 0) {
            o->force = 1;
            continue;
        }
        if (strcmp(a, "--quiet") == 0) {
            o->quiet = 1;
            continue;
        }
        if (with_ctx && (r = nt_cli_opt_i64(argc, argv, &i, cmd, "--ctx", 0, INT32_MAX, "a window length (0 = default)",
                                            &o->n_ctx)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if ((r = nt_cli_opt_i64(argc, argv, &i, cmd, "--threads", 0, 1024, "a thread count in [0, 1024]",
                                &o->n_threads)) != 0) {
            if (r < 0) return NT_CLI_EXIT_USAGE;
            continue;
        }
        if (a[0] == '-' && a[1] != 0) return nt_cli_usage_fail(cmd, "unknown option '%s'", a);
        if (o->n_pos == 3) return nt_cli_usage_fail(cmd, "unexpected argument '%s'", a);
        o->pos[o->n_pos++] = a;
    }
    static const char *const names[] = {"no model file given", "no input file given", "no output file given"};
    if (o->n_pos < 3) return nt_cli_usage_fail(cmd, "%s", names[o->n_pos]);
    return 0;
}

static int on_progress(float fraction, void *user)
{
    nt_cli_progress_update(user, fraction, NULL);
    return 0;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Write data to a temporary file beside `path`, then rename it there. */
static int write_atomic(const char *path, const void *data, size_t len, bool force)
{
    if (!force && access(path, F_OK) == 0) return nt_cli_fail("%s exists (use --force to overwrite it)", path);
    const size_t n = strlen(path);
    char *tmp = malloc(n + 16);
    if (!tmp) return nt_cli_fail("out of memory");
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp-XXXXXX", 12);
    const int fd = mkstemp(tmp);
    if (fd < 0) {
        const int e = errno;
        free(tmp);
        return nt_cli_fail("cannot create a temporary file beside %s: %s", path, strerror(e));
    }
    FILE *f = fdopen(fd, "wb");
    bool ok = f != NULL;
    if (ok && len) ok = fwrite(data, 1, len, f) == len;
    if (f) ok = fclose(f) == 0 && ok;
    else close(fd);
    const int e = errno;
    if (!ok || rename(tmp, path) != 0) {
        const int e2 = ok ? errno : e;
        unlink(tmp);
        free(tmp);
        return nt_cli_fail("cannot write %s: %s", path, strerror(e2));
    }
    free(tmp);
    return 0;
}

static void summary(const char *verb, const char *in, size_t in_len, const char *out, size_t out_len,
                    size_t text_len, size_t zip_len, double seconds)
{
    const double bpb = text_len ? 8.0 * (double)zip_len / (double)text_len : 0.0;
    const double kbs = seconds > 0 ? (double)text_len / 1000.0 / seconds : 0.0;
    printf("%s %s (%zu bytes) -> %s (%zu bytes): %.3f bits per byte, %.2f s, %.2f kB/s\n", verb, in, in_len, out,
           out_len, bpb, seconds, kbs);
}

/* Compress (or decompress) in into out with progress on stderr, write
 * the result in place of o->pos[2] and print the summary: the part zip
 * and unzip share once their buffers are ready. */
static int code(const zip_options *o, nexttok_model *model, bool compress, const char *in, size_t in_len,
                unsigned char *out, size_t cap)
{
    const char *verb = compress ? "zip" : "unzip";
    nt_cli_progress progress;
    nt_cli_progress_start(&progress, verb);
    nexttok_zip_params p;
    nexttok_zip_params_init(&p, sizeof p);
    if (compress) p.n_ctx = (int32_t)o->n_ctx; /* unzip reads the window from the header */
    p.n_threads = (int32_t)o->n_threads;
    p.progress = on_progress;
    p.progress_user_data = &progress;
    size_t out_len = 0;
    const double t0 = now_seconds();
    const nexttok_status st = compress ? nexttok_zip_compress(model, NULL, &p, in, in_len, out, cap, &out_len)
                                       : nexttok_zip_decompress(model, NULL, &p, in, in_len, out, cap, &out_len);
    const double secs = now_seconds() - t0;
    nt_cli_progress_end(&progress);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "%s %s", verb, o->pos[1]);
    int rc = write_atomic(o->pos[2], out, out_len, o->force);
    if (rc) return rc;
    if (!o->quiet) {
        const size_t original = compress ? in_len : out_len, packed = compress ? out_len : in_len;
        summary(verb, o->pos[1], in_len, o->pos[2], out_len, original, packed, secs);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
    return rc;
}

int nt_cli_zip(int argc, char **argv)
{
    zip_options o = {0};
    bool done;
    int rc = parse(argc, argv, "zip", zip_usage, true, &o, &done);
    if (rc || done) return rc;
    char *in = NULL;
    size_t in_len = 0;
    unsigned char *out = NULL;
    nexttok_model *model = NULL;
    /* the input first: a missing file fails before the model loads */
    if ((rc = nt_cli_read_file(o.pos[1], &in, &in_len)) != 0) return rc;
    if ((rc = nt_cli_model_load(o.pos[0], false, &model)) != 0) goto end;
    const size_t cap = nexttok_zip_bound(in_len);
    out = cap ? malloc(cap) : NULL;
    if (!out) {
        rc = nt_cli_fail("out of memory for %zu bytes of output", cap);
        goto end;
    }
    rc = code(&o, model, true, in, in_len, out, cap);
end:
    nexttok_model_free(model);
    free(out);
    free(in);
    return rc;
}

int nt_cli_unzip(int argc, char **argv)
{
    zip_options o = {0};
    bool done;
    int rc = parse(argc, argv, "unzip", unzip_usage, false, &o, &done);
    if (rc || done) return rc;
    char *in = NULL;
    size_t in_len = 0;
    unsigned char *out = NULL;
    nexttok_model *model = NULL;
    if ((rc = nt_cli_read_file(o.pos[1], &in, &in_len)) != 0) return rc;
    /* the header before the model: a file that is not ours fails at once */
    nexttok_zip_info info = {.struct_size = sizeof info};
    nexttok_status st = nexttok_zip_info_get(in, in_len, &info);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "unzip %s", o.pos[1]);
        goto end;
    }
    if (info.original_len > SIZE_MAX - 1) {
        rc = nt_cli_fail("unzip %s: %llu bytes do not fit in memory", o.pos[1], (unsigned long long)info.original_len);
        goto end;
    }
    if ((rc = nt_cli_model_load(o.pos[0], false, &model)) != 0) goto end;
    out = malloc((size_t)info.original_len + 1);
    if (!out) {
        rc = nt_cli_fail("out of memory for %llu bytes of output", (unsigned long long)info.original_len);
        goto end;
    }
    rc = code(&o, model, false, in, in_len, out, (size_t)info.original_len);
end:
    nexttok_model_free(model);
    free(out);
    free(in);
    return rc;
}
