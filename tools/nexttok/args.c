#include "args.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Long enough for a path, a library message and some context. */
#define NT_CLI_MSG_CAP 2048

/* One line, whatever the parts contain: a newline inside a library message
 * or a file name must not break the "exactly one error line" promise. */
static void print_error_line(const char *msg)
{
    char line[NT_CLI_MSG_CAP];
    size_t n = 0;
    for (const char *p = msg; *p && n + 1 < sizeof line; p++)
        line[n++] = (*p == '\n' || *p == '\r') ? ' ' : *p;
    line[n] = '\0';
    fflush(stdout);
    fprintf(stderr, "nexttok: error: %s\n", line);
}

int nt_cli_fail(const char *fmt, ...)
{
    char msg[NT_CLI_MSG_CAP];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error_line(msg);
    return NT_CLI_EXIT_FAIL;
}

int nt_cli_usage_fail(const char *cmd, const char *fmt, ...)
{
    char msg[NT_CLI_MSG_CAP];
    char full[NT_CLI_MSG_CAP + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (cmd)
        snprintf(full, sizeof full, "%s (see: nexttok %s --help)", msg, cmd);
    else
        snprintf(full, sizeof full, "%s (see: nexttok --help)", msg);
    print_error_line(full);
    return NT_CLI_EXIT_USAGE;
}

int nt_cli_api_fail(nexttok_status status, const char *fmt, ...)
{
    char what[NT_CLI_MSG_CAP];
    char full[NT_CLI_MSG_CAP * 2];
    /* Read the message before anything else can call into the library. */
    const char *lib_msg = nexttok_error_message();
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    const char *describe = nexttok_status_describe(status);
    size_t describe_len = strlen(describe);
    /* Messages that already start with the status text do not repeat it. */
    if (lib_msg && strncmp(lib_msg, describe, describe_len) == 0 &&
        (lib_msg[describe_len] == ':' || lib_msg[describe_len] == '\0'))
        snprintf(full, sizeof full, "%s: %s", what, lib_msg);
    else if (lib_msg && lib_msg[0])
        snprintf(full, sizeof full, "%s: %s: %s", what, describe, lib_msg);
    else
        snprintf(full, sizeof full, "%s: %s", what, nexttok_status_describe(status));
    print_error_line(full);
    return NT_CLI_EXIT_FAIL;
}

bool nt_cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    if (!s || !*s) return false;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    if (*p < '0' || *p > '9') return false; /* also rejects leading spaces */
    errno = 0;
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (errno == ERANGE || *end != '\0') return false;
    if (v < min || v > max) return false;
    *out = (int64_t)v;
    return true;
}

bool nt_cli_parse_u64(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9') return false;
    errno = 0;
    char *end = NULL;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0') return false;
    *out = (uint64_t)v;
    return true;
}

bool nt_cli_parse_f32(const char *s, float min, float max, float *out)
{
    if (!s || !*s) return false;
    const char *p = s;
    if (*p == '+' || *p == '-') p++;
    /* Digits or a point must come first: no "inf", "nan", hex or spaces. */
    if (!((*p >= '0' && *p <= '9') || *p == '.')) return false;
    for (const char *q = p; *q; q++)
        if (*q == 'x' || *q == 'X') return false;
    errno = 0;
    char *end = NULL;
    double v = strtod(s, &end);
    if (errno == ERANGE || *end != '\0' || !isfinite(v)) return false;
    if (v < min || v > max) return false;
    *out = (float)v;
    return true;
}

bool nt_cli_parse_tokens(const char *s, int32_t **tokens_out, size_t *n_out,
                         char *err, size_t err_size)
{
    *tokens_out = NULL;
    *n_out = 0;
    if (!s || !*s) {
        snprintf(err, err_size, "--tokens: empty list");
        return false;
    }
    size_t n_items = 1;
    for (const char *p = s; *p; p++)
        if (*p == ',') n_items++;
    int32_t *tokens = malloc(n_items * sizeof *tokens);
    if (!tokens) {
        snprintf(err, err_size, "--tokens: out of memory for %zu ids", n_items);
        return false;
    }
    const char *p = s;
    for (size_t i = 0; i < n_items; i++) {
        const char *start = p;
        while (*p && *p != ',') p++;
        size_t len = (size_t)(p - start);
        if (len == 0) {
            snprintf(err, err_size, "--tokens: item %zu is empty", i + 1);
            free(tokens);
            return false;
        }
        int64_t v = 0;
        bool digits = true;
        for (size_t k = 0; k < len; k++)
            if (start[k] < '0' || start[k] > '9') digits = false;
        if (!digits) {
            snprintf(err, err_size, "--tokens: item %zu ('%.*s') is not a non-negative decimal integer",
                     i + 1, (int)(len > 40 ? 40 : len), start);
            free(tokens);
            return false;
        }
        /* Accumulate with an explicit bound: no silent wrap. */
        for (size_t k = 0; k < len; k++) {
            v = v * 10 + (start[k] - '0');
            if (v > INT32_MAX) break;
        }
        if (v > INT32_MAX) {
            snprintf(err, err_size, "--tokens: item %zu ('%.*s') does not fit in a 32-bit token id",
                     i + 1, (int)(len > 40 ? 40 : len), start);
            free(tokens);
            return false;
        }
        tokens[i] = (int32_t)v;
        if (*p == ',') p++;
    }
    *tokens_out = tokens;
    *n_out = n_items;
    return true;
}

int nt_cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value)
{
    const char *arg = argv[*i];
    size_t name_len = strlen(name);
    if (strncmp(arg, name, name_len) != 0) return 0;
    if (arg[name_len] == '=') {
        *value = arg + name_len + 1;
        return 1;
    }
    if (arg[name_len] != '\0') return 0;
    if (*i + 1 >= argc) {
        nt_cli_usage_fail(NULL, "option %s needs a value", name);
        return -1;
    }
    *i += 1;
    *value = argv[*i];
    return 1;
}

/* Shared tail of the nt_cli_opt_<number> functions: r and v from
 * nt_cli_opt_value, ok whether v parsed. */
static int opt_number_result(int r, bool ok, const char *cmd, const char *name, const char *v,
                             const char *what)
{
    if (r <= 0 || ok) return r;
    nt_cli_usage_fail(cmd, "%s: '%s' is not %s", name, v, what);
    return -1;
}

int nt_cli_opt_i64(int argc, char **argv, int *i, const char *cmd, const char *name,
                   int64_t min, int64_t max, const char *what, int64_t *out)
{
    const char *v = NULL;
    int r = nt_cli_opt_value(argc, argv, i, name, &v);
    return opt_number_result(r, r > 0 && nt_cli_parse_i64(v, min, max, out), cmd, name, v, what);
}

int nt_cli_opt_f32(int argc, char **argv, int *i, const char *cmd, const char *name,
                   float min, float max, const char *what, float *out)
{
    const char *v = NULL;
    int r = nt_cli_opt_value(argc, argv, i, name, &v);
    return opt_number_result(r, r > 0 && nt_cli_parse_f32(v, min, max, out), cmd, name, v, what);
}

int nt_cli_opt_u64(int argc, char **argv, int *i, const char *cmd, const char *name,
                   const char *what, uint64_t *out)
{
    const char *v = NULL;
    int r = nt_cli_opt_value(argc, argv, i, name, &v);
    return opt_number_result(r, r > 0 && nt_cli_parse_u64(v, out), cmd, name, v, what);
}

bool nt_cli_scan_args(int argc, char **argv, const char *cmd, void (*usage)(void),
                      nt_cli_option_fn option, void *ctx, const char **path, int *exit_status)
{
    *path = NULL;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage();
            *exit_status = 0;
            return false;
        }
        int r = option ? option(argc, argv, &i, ctx) : 0;
        if (r < 0) {
            *exit_status = NT_CLI_EXIT_USAGE;
            return false;
        }
        if (r > 0) continue;
        if (a[0] == '-' && a[1] != '\0') {
            *exit_status = nt_cli_usage_fail(cmd, "unknown option '%s'", a);
            return false;
        }
        if (*path) {
            *exit_status = nt_cli_usage_fail(cmd, "unexpected argument '%s'", a);
            return false;
        }
        *path = a;
    }
    return true;
}

int nt_cli_input_option(int argc, char **argv, int *i, nt_cli_input *input)
{
    static const char *names[] = {"--tokens", "--text", "--text-file"};
    const char **slots[] = {&input->tokens, &input->text, &input->text_file};
    for (size_t k = 0; k < 3; k++) {
        const char *v = NULL;
        int r = nt_cli_opt_value(argc, argv, i, names[k], &v);
        if (r < 0) return -1;
        if (r == 0) continue;
        if (input->tokens || input->text || input->text_file) {
            nt_cli_usage_fail(NULL, "give only one of --tokens, --text, --text-file");
            return -1;
        }
        *slots[k] = v;
        return 1;
    }
    return 0;
}

bool nt_cli_input_needs_tokenizer(const nt_cli_input *input)
{
    return input->text != NULL || input->text_file != NULL;
}

int nt_cli_read_file(const char *path, char **data_out, size_t *size_out)
{
    *data_out = NULL;
    *size_out = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return nt_cli_fail("cannot open %s: %s", path, strerror(errno));
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    if (!buf) {
        fclose(f);
        return nt_cli_fail("out of memory reading %s", path);
    }
    for (;;) {
        if (n == cap) {
            char *bigger = cap < SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!bigger) {
                free(buf);
                fclose(f);
                return nt_cli_fail("out of memory reading %s", path);
            }
            buf = bigger;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - n, f);
        n += got;
        if (got == 0) break;
    }
    int failed = ferror(f);
    fclose(f);
    if (failed) {
        free(buf);
        return nt_cli_fail("cannot read %s", path);
    }
    *data_out = buf;
    *size_out = n;
    return 0;
}

static int tokenize(const nexttok_tokenizer *tokenizer, const char *text, size_t len,
                    const char *what, int32_t **tokens_out, size_t *n_out)
{
    /* A token covers at least one byte, plus BOS/EOS: len + 8 is enough for
     * every usual vocabulary; the library tells us when it is not. */
    size_t cap = len + 8;
    for (int attempt = 0; attempt < 2; attempt++) {
        int32_t *tokens = malloc(cap * sizeof *tokens);
        if (!tokens) return nt_cli_fail("out of memory tokenizing %s", what);
        size_t needed = 0;
        nexttok_status st = nexttok_tokenizer_encode(tokenizer, text, len,
                                                     NEXTTOK_ENCODE_ADD_SPECIAL,
                                                     tokens, cap, &needed);
        if (st == NEXTTOK_OK) {
            if (needed == 0) {
                free(tokens);
                return nt_cli_fail("%s gives no tokens", what);
            }
            *tokens_out = tokens;
            *n_out = needed;
            return 0;
        }
        free(tokens);
        if (st != NEXTTOK_ERR_BUFFER_TOO_SMALL || needed <= cap)
            return nt_cli_api_fail(st, "tokenizing %s", what);
        cap = needed;
    }
    return nt_cli_fail("tokenizing %s: the token count kept growing", what);
}

int nt_cli_input_tokens(nt_cli_input *input, const nexttok_tokenizer *tokenizer,
                        int32_t **tokens_out, size_t *n_out)
{
    *tokens_out = NULL;
    *n_out = 0;
    if (input->tokens) {
        char err[256];
        if (!nt_cli_parse_tokens(input->tokens, tokens_out, n_out, err, sizeof err))
            return nt_cli_fail("%s", err);
        return 0;
    }
    if (!tokenizer) return nt_cli_fail("text input needs a tokenizer");
    if (input->text) {
        input->text_data = input->text;
        input->text_len = strlen(input->text);
        return tokenize(tokenizer, input->text_data, input->text_len, "--text", tokens_out, n_out);
    }
    if (input->text_file) {
        int rc = nt_cli_input_load(input);
        if (rc) return rc;
        return tokenize(tokenizer, input->text_data, input->text_len, input->text_file,
                        tokens_out, n_out);
    }
    return nt_cli_usage_fail(NULL, "no input: give --tokens, --text or --text-file");
}

int nt_cli_input_load(nt_cli_input *input)
{
    if (!input->text_file || input->owned) return 0;
    int rc = nt_cli_read_file(input->text_file, &input->owned, &input->text_len);
    if (rc) return rc;
    input->text_data = input->owned;
    return 0;
}

void nt_cli_input_release(nt_cli_input *input)
{
    free(input->owned);
    input->owned = NULL;
    input->text_data = NULL;
    input->text_len = 0;
}

int nt_cli_model_load(const char *path, bool metadata_only, nexttok_model **model_out)
{
    nexttok_model_params params;
    nexttok_model_params_init(&params, sizeof params);
    params.metadata_only = metadata_only;
    nexttok_status st = nexttok_model_load(path, &params, model_out);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "loading %s", path);
    return 0;
}

size_t nt_cli_utf8_seq_len(const unsigned char *s, size_t len)
{
    if (len == 0) return 0;
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    size_t n;
    unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) n = 2;
    else if (c == 0xE0) { n = 3; lo = 0xA0; }
    else if (c >= 0xE1 && c <= 0xEC) n = 3;
    else if (c == 0xED) { n = 3; hi = 0x9F; } /* no surrogates */
    else if (c >= 0xEE && c <= 0xEF) n = 3;
    else if (c == 0xF0) { n = 4; lo = 0x90; }
    else if (c >= 0xF1 && c <= 0xF3) n = 4;
    else if (c == 0xF4) { n = 4; hi = 0x8F; }
    else return 0;
    if (len < n) return 0;
    if (s[1] < lo || s[1] > hi) return 0;
    for (size_t k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF) return 0;
    return n;
}

void nt_cli_print_escaped(const char *text, size_t len)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t i = 0;
    while (i < len) {
        unsigned char c = s[i];
        if (c == '\n') { fputs("\\n", stdout); i++; continue; }
        if (c == '\t') { fputs("\\t", stdout); i++; continue; }
        if (c == '\r') { fputs("\\r", stdout); i++; continue; }
        if (c == '\\') { fputs("\\\\", stdout); i++; continue; }
        if (c == '"') { fputs("\\\"", stdout); i++; continue; }
        if (c < 0x20 || c == 0x7F) { printf("\\x%02x", c); i++; continue; }
        size_t n = nt_cli_utf8_seq_len(s + i, len - i);
        if (n == 0) { printf("\\x%02x", c); i++; continue; }
        fwrite(s + i, 1, n, stdout);
        i += n;
    }
}

int nt_cli_session_create(const nexttok_model *model, const nt_cli_session_opts *opts,
                          nexttok_session **session_out)
{
    nexttok_session_params params;
    nexttok_session_params_init(&params, sizeof params);
    params.n_ctx = opts->n_ctx;
    params.n_threads = opts->n_threads;
    params.precision = opts->precision;
    params.kv_type = opts->kv_type;
    params.n_batch = opts->n_batch;
    params.context_full = opts->context_full;
    params.n_keep = opts->n_keep;
    nexttok_status st = nexttok_session_create(model, &params, session_out);
    if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "creating a session");
    return 0;
}

int nt_cli_tokenizer_create(const nexttok_model *model, bool required,
                            nexttok_tokenizer **tokenizer_out)
{
    nexttok_status st = nexttok_tokenizer_create(model, tokenizer_out);
    if (st == NEXTTOK_OK) return 0;
    *tokenizer_out = NULL;
    if (!required) return 0;
    return nt_cli_api_fail(st, "the model's tokenizer (text input needs one; --tokens does not)");
}

/* A named choice: the index of `value` in `names`, or -1 reported. */
static int choice(const char *cmd, const char *opt, const char *value, const char *const *names, int n,
                  const char *expected)
{
    for (int k = 0; k < n; k++)
        if (strcmp(value, names[k]) == 0) return k;
    nt_cli_usage_fail(cmd, "%s: '%s' is not %s", opt, value, expected);
    return -1;
}

int nt_cli_session_option(int argc, char **argv, int *i, const char *cmd, nt_cli_session_opts *opts)
{
    int64_t x = 0;
    int r = nt_cli_opt_i64(argc, argv, i, cmd, "--threads", 0, 4096,
                           "a count in [0, 4096] (0 = all cores)", &x);
    if (r > 0) opts->n_threads = (int32_t)x;
    if (r != 0) return r;
    r = nt_cli_opt_i64(argc, argv, i, cmd, "--ctx", 0, INT32_MAX,
                       "a context length (0 = trained context)", &x);
    if (r > 0) opts->n_ctx = (int32_t)x;
    if (r != 0) return r;
    r = nt_cli_opt_i64(argc, argv, i, cmd, "--batch", 0, 512, "a count in [0, 512] (0 = 512)", &x);
    if (r > 0) opts->n_batch = (int32_t)x;
    if (r != 0) return r;
    const char *v = NULL;
    if ((r = nt_cli_opt_value(argc, argv, i, "--precision", &v)) != 0) {
        static const char *const names[] = {"fast", "exact", "portable"};
        static const int32_t values[] = {NEXTTOK_PRECISION_FAST, NEXTTOK_PRECISION_EXACT, NEXTTOK_PRECISION_PORTABLE};
        int k = r > 0 ? choice(cmd, "--precision", v, names, 3, "fast, exact or portable") : -1;
        if (k < 0) return -1;
        opts->precision = values[k];
        return 1;
    }
    if ((r = nt_cli_opt_value(argc, argv, i, "--kv-type", &v)) != 0) {
        static const char *const names[] = {"f32", "f16", "q8_0"};
        static const int32_t values[] = {NEXTTOK_KV_F32, NEXTTOK_KV_F16, NEXTTOK_KV_Q8_0};
        int k = r > 0 ? choice(cmd, "--kv-type", v, names, 3, "f32, f16 or q8_0") : -1;
        if (k < 0) return -1;
        opts->kv_type = values[k];
        return 1;
    }
    return 0;
}

/* A JSON string: quotes, backslashes and control characters escaped, and
 * bytes that are not well-formed UTF-8 (possible in untrusted files, or
 * where the library truncated a value) replaced by U+FFFD so the output
 * always parses. */
void nt_cli_json_string(const char *text)
{
    const unsigned char *s = (const unsigned char *)(text ? text : "");
    size_t len = strlen((const char *)s);
    size_t i = 0;
    putchar('"');
    while (i < len) {
        unsigned char c = s[i];
        switch (c) {
        case '"': fputs("\\\"", stdout); i++; continue;
        case '\\': fputs("\\\\", stdout); i++; continue;
        case '\n': fputs("\\n", stdout); i++; continue;
        case '\r': fputs("\\r", stdout); i++; continue;
        case '\t': fputs("\\t", stdout); i++; continue;
        case '\b': fputs("\\b", stdout); i++; continue;
        case '\f': fputs("\\f", stdout); i++; continue;
        default: break;
        }
        if (c < 0x20 || c == 0x7F) {
            printf("\\u%04x", c);
            i++;
            continue;
        }
        size_t n = nt_cli_utf8_seq_len(s + i, len - i);
        if (n == 0) {
            fputs("\\ufffd", stdout);
            i++;
            continue;
        }
        fwrite(s + i, 1, n, stdout);
        i += n;
    }
    putchar('"');
}
