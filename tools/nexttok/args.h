/*
 * Shared helpers of the nexttok subcommands: strict number and token-list
 * parsing, the one-line error report, option scanning, and turning
 * --tokens / --text / --text-file into token ids through the public API.
 */
#ifndef NT_CLI_ARGS_H
#define NT_CLI_ARGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nexttok.h"

/* Exit status of a failed command (bad input or a failed library call). */
#define NT_CLI_EXIT_FAIL 1
/* Exit status for a command line that cannot be understood. */
#define NT_CLI_EXIT_USAGE 2

/* Print "nexttok: error: <message>" as exactly one line on stderr (newlines
 * in the message become spaces) and return NT_CLI_EXIT_FAIL. */
int nt_cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Same, with NT_CLI_EXIT_USAGE and a hint to use --help. */
int nt_cli_usage_fail(const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Report a failed library call: "<what>: <status text>: <library message>". */
int nt_cli_api_fail(nexttok_status status, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Strict decimal integer in [min, max]: no junk, no overflow, no empty text.
 * Leading '+' / '-' accepted, surrounding spaces are not. */
bool nt_cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
/* Strict finite float in [min, max] (decimal or exponent form). */
bool nt_cli_parse_f32(const char *s, float min, float max, float *out);
/* Strict unsigned 64-bit integer (decimal). */
bool nt_cli_parse_u64(const char *s, uint64_t *out);

/*
 * Parse "1,2,3" into a heap array of token ids (free()). Every item must be
 * a decimal integer in [0, INT32_MAX]; empty items, junk, spaces and
 * overflow are rejected with a message in err. An empty list is an error.
 */
bool nt_cli_parse_tokens(const char *s, int32_t **tokens_out, size_t *n_out,
                         char *err, size_t err_size);

/*
 * Option scanning over argv[*i]. If argv[*i] is `name` followed by a value
 * (`--name VALUE` or `--name=VALUE`), sets *value, advances *i past what it
 * used and returns 1. Returns 0 when argv[*i] is another argument and -1
 * (after printing the error line) when the value is missing.
 */
int nt_cli_opt_value(int argc, char **argv, int *i, const char *name, const char **value);

/*
 * `name VALUE` options with a number: like nt_cli_opt_value, and a value
 * that does not parse (see nt_cli_parse_*) is reported as the usage error
 * "<name>: '<value>' is not <what>" and gives -1. *out is set only on 1.
 */
int nt_cli_opt_i64(int argc, char **argv, int *i, const char *cmd, const char *name,
                   int64_t min, int64_t max, const char *what, int64_t *out);
int nt_cli_opt_f32(int argc, char **argv, int *i, const char *cmd, const char *name,
                   float min, float max, const char *what, float *out);
int nt_cli_opt_u64(int argc, char **argv, int *i, const char *cmd, const char *name,
                   const char *what, uint64_t *out);

/* A command's own options at argv[*i], for nt_cli_scan_args: 1 consumed
 * (advancing *i past any value), 0 not one of them, -1 error reported. */
typedef int (*nt_cli_option_fn)(int argc, char **argv, int *i, void *ctx);

/*
 * The argument loop every subcommand shares: --help / -h prints `usage`;
 * `option` (may be NULL) takes the command's options; any other "-x" is an
 * unknown option; the one positional argument goes to *path (left NULL when
 * absent, for the caller to report). Returns true to go on, false when the
 * command must end now with *exit_status (0 after --help, usage otherwise).
 */
bool nt_cli_scan_args(int argc, char **argv, const char *cmd, void (*usage)(void),
                      nt_cli_option_fn option, void *ctx, const char **path, int *exit_status);

/* Where a command's input tokens come from (exactly one must be set). */
typedef struct nt_cli_input {
    const char *tokens;    /* --tokens 1,2,3 */
    const char *text;      /* --text T */
    const char *text_file; /* --text-file F */
    /* Filled by nt_cli_input_tokens for text input: the bytes tokenized
     * (the file's contents for --text-file, owned; freed by release). */
    const char *text_data;
    size_t text_len;
    char *owned;
} nt_cli_input;

/* Read --text-file now, so a missing file is reported before the model
 * loads (nt_cli_input_tokens would read it otherwise). 0 or exit status. */
int nt_cli_input_load(nt_cli_input *input);

/* Free what nt_cli_input_tokens kept in `input`. */
void nt_cli_input_release(nt_cli_input *input);

/* Handle --tokens/--text/--text-file at argv[*i]: 1 consumed, 0 not an
 * input option, -1 error already reported. */
int nt_cli_input_option(int argc, char **argv, int *i, nt_cli_input *input);

/*
 * Produce the token ids of `input`. Text is tokenized with `tokenizer`
 * (BOS/EOS added as the vocabulary says); tokenizer may be NULL only for
 * --tokens. Reports its own error line; returns an exit status (0 = ok) and
 * a heap array in *tokens_out (free()).
 */
int nt_cli_input_tokens(nt_cli_input *input, const nexttok_tokenizer *tokenizer,
                        int32_t **tokens_out, size_t *n_out);

/* True when input asks for text (a tokenizer is required). */
bool nt_cli_input_needs_tokenizer(const nt_cli_input *input);

/* Read a whole file into a heap buffer (free()); reports its own error. */
int nt_cli_read_file(const char *path, char **data_out, size_t *size_out);

/* Load a model, reporting failure with the path. Returns an exit status. */
int nt_cli_model_load(const char *path, bool metadata_only, nexttok_model **model_out);

/* The session options every model command shares (0 = defaults). */
typedef struct nt_cli_session_opts {
    int32_t n_threads, n_ctx;
    int32_t precision; /* nexttok_precision */
    int32_t kv_type;   /* nexttok_kv_type */
    int32_t n_batch;   /* tokens per forward call */
    int32_t context_full; /* nexttok_context_full (generate --context-shift) */
    int32_t n_keep;       /* its n_keep */
} nt_cli_session_opts;

/* Create a session with those options, reporting failure. */
int nt_cli_session_create(const nexttok_model *model, const nt_cli_session_opts *opts,
                          nexttok_session **session_out);

/* The model's tokenizer. When `required` is false a model without one gives
 * *tokenizer_out == NULL and status 0; otherwise the failure is reported. */
int nt_cli_tokenizer_create(const nexttok_model *model, bool required,
                            nexttok_tokenizer **tokenizer_out);

/* Handle the options every model command shares at argv[*i]: --threads T,
 * --ctx N, --batch N, --precision fast|exact|portable, --kv-type f32|f16|q8_0. 1 consumed, 0
 * not one of them, -1 error reported. */
int nt_cli_session_option(int argc, char **argv, int *i, const char *cmd, nt_cli_session_opts *opts);

/* The help lines of those options. */
#define NT_CLI_SESSION_OPTIONS_HELP                                                        \
    "  --threads T          threads of the forward pass (0 = all cores)\n"                 \
    "  --ctx N              context positions (0 = the model's, at most 4096)\n"          \
    "  --precision P        fast (8-bit activations, integer dots; default for\n"         \
    "                       quantized weights), exact (F32 activations) or portable\n"   \
    "                       (exact on the scalar kernels: the same bits on any CPU)\n"   \
    "  --kv-type T          KV cache rows: f32 (default), f16 or q8_0\n"                  \
    "  --batch N            tokens per forward call of a long input (0 = 512)\n"

/* Write `len` bytes of a token piece with control and non-UTF-8 bytes
 * escaped (\n, \t, \xNN), for one-line listings. */
void nt_cli_print_escaped(const char *text, size_t len);

/* Length (1-4) of the well-formed UTF-8 sequence starting at s (len bytes
 * available), or 0 when the bytes there are not well-formed UTF-8. */
size_t nt_cli_utf8_seq_len(const unsigned char *s, size_t len);

/* Write `text` (NULL = "") to stdout as a JSON string: quotes, backslashes and
 * control characters escaped, bytes that are not well-formed UTF-8 replaced
 * by U+FFFD, so the output always parses. */
void nt_cli_json_string(const char *text);

#endif
