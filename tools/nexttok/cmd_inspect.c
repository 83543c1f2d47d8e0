/* nexttok inspect MODEL [--json]: what a GGUF file holds, with digests. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "commands.h"
#include "nexttok.h"

/* Metadata keys are short; values are already summarized by the library
 * (arrays as "[type; n] first elements"), so these bound the output. */
#define KEY_CAP 512
#define VALUE_CAP 4096

static void usage(void)
{
    printf("usage: nexttok inspect MODEL [--json]\n\n"
           "Prints the architecture, hyper-parameters, metadata (arrays summarized),\n"
           "the tensor list with types, shapes, offsets and sizes, the BLAKE2b-256\n"
           "digest of the file and of each tensor's data. --json gives one JSON object.\n");
}

static void hex_digest(const uint8_t d[NEXTTOK_DIGEST_BYTES], char out[2 * NEXTTOK_DIGEST_BYTES + 1])
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < NEXTTOK_DIGEST_BYTES; i++) {
        out[2 * i] = hex[d[i] >> 4];
        out[2 * i + 1] = hex[d[i] & 15];
    }
    out[2 * NEXTTOK_DIGEST_BYTES] = '\0';
}

/* Shape as the GGUF order lists it, dims[0] the contiguous one. */
static void format_shape(const nexttok_tensor_info *t, char *buf, size_t size)
{
    size_t used = 0;
    used += (size_t)snprintf(buf, size, "[");
    for (uint32_t d = 0; d < t->n_dims && d < 4 && used < size; d++)
        used += (size_t)snprintf(buf + used, size - used, "%s%" PRId64, d ? ", " : "", t->dims[d]);
    if (used < size) snprintf(buf + used, size - used, "]");
}

static int print_text(const char *path, const nexttok_model *model, const nexttok_model_info *info,
                      const char *file_hex, const char *why_not_runnable)
{
    printf("file          %s\n", path);
    printf("file size     %" PRIu64 " bytes\n", info->file_size);
    printf("blake2b-256   %s\n", file_hex);
    printf("architecture  %s\n", info->architecture ? info->architecture : "");
    printf("name          %s\n", info->name ? info->name : "");
    printf("gguf version  %" PRIu32 "\n", info->gguf_version);
    printf("n_vocab       %" PRId32 "\n", info->n_vocab);
    printf("n_ctx_train   %" PRId32 "\n", info->n_ctx_train);
    printf("n_embd        %" PRId32 "\n", info->n_embd);
    printf("n_layer       %" PRId32 "\n", info->n_layer);
    printf("n_head        %" PRId32 "\n", info->n_head);
    printf("n_head_kv     %" PRId32 "\n", info->n_head_kv);
    printf("n_ff          %" PRId32 "\n", info->n_ff);
    if (info->head_dim) printf("head_dim      %" PRId32 "\n", info->head_dim);
    printf("n_params      %" PRIu64 "\n", info->n_params);
    if (info->runnable) printf("features      %s\n", info->features ? info->features : "");
    if (info->runnable) printf("runnable      yes\n");
    else printf("runnable      no: %s\n", why_not_runnable);

    size_t n_meta = nexttok_model_meta_count_get(model);
    printf("\nmetadata (%zu entries)\n", n_meta);
    char key[KEY_CAP], value[VALUE_CAP];
    for (size_t i = 0; i < n_meta; i++) {
        nexttok_status st = nexttok_model_meta_get(model, i, key, sizeof key, value, sizeof value);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "metadata entry %zu", i);
        printf("  ");
        nt_cli_print_escaped(key, strlen(key));
        printf(" = ");
        nt_cli_print_escaped(value, strlen(value));
        printf("\n");
    }

    size_t n_tensors = nexttok_model_tensor_count_get(model);
    printf("\ntensors (%zu)\n", n_tensors);
    printf("  %-32s %-7s %-22s %12s %12s  %s\n", "name", "type", "shape", "offset", "bytes",
           "blake2b-256");
    for (size_t i = 0; i < n_tensors; i++) {
        nexttok_tensor_info t;
        memset(&t, 0, sizeof t);
        t.struct_size = sizeof t;
        nexttok_status st = nexttok_model_tensor_info_get(model, i, &t);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "tensor %zu", i);
        uint8_t d[NEXTTOK_DIGEST_BYTES];
        st = nexttok_model_tensor_digest_get(model, i, d);
        if (st != NEXTTOK_OK) return nt_cli_api_fail(st, "digest of tensor %zu", i);
        char hex[2 * NEXTTOK_DIGEST_BYTES + 1], shape[128];
        hex_digest(d, hex);
        format_shape(&t, shape, sizeof shape);
        printf("  ");
        nt_cli_print_escaped(t.name ? t.name : "", t.name ? strlen(t.name) : 0);
        int pad = 32 - (int)(t.name ? strlen(t.name) : 0);
        printf("%*s %-7s %-22s %12" PRIu64 " %12" PRIu64 "  %s\n", pad > 0 ? pad : 0, "",
               t.type_name ? t.type_name : "?", shape, t.offset, t.n_bytes, hex);
    }
    return 0;
}

static int print_json(const char *path, const nexttok_model *model, const nexttok_model_info *info,
                      const char *file_hex, const char *why_not_runnable)
{
    printf("{\n  \"file\": ");
    nt_cli_json_string(path);
    printf(",\n  \"file_size\": %" PRIu64 ",\n  \"blake2b_256\": \"%s\",\n", info->file_size, file_hex);
    printf("  \"architecture\": ");
    nt_cli_json_string(info->architecture);
    printf(",\n  \"name\": ");
    nt_cli_json_string(info->name);
    printf(",\n  \"gguf_version\": %" PRIu32 ",\n", info->gguf_version);
    printf("  \"hparams\": {\"n_vocab\": %" PRId32 ", \"n_ctx_train\": %" PRId32
           ", \"n_embd\": %" PRId32 ", \"n_layer\": %" PRId32 ", \"n_head\": %" PRId32
           ", \"n_head_kv\": %" PRId32 ", \"n_ff\": %" PRId32 ", \"head_dim\": %" PRId32 "},\n",
           info->n_vocab, info->n_ctx_train, info->n_embd, info->n_layer, info->n_head,
           info->n_head_kv, info->n_ff, info->head_dim);
    printf("  \"features\": ");
    nt_cli_json_string(info->features ? info->features : "");
    printf(",\n");
    printf("  \"n_params\": %" PRIu64 ",\n", info->n_params);
    printf("  \"runnable\": %s,\n", info->runnable ? "true" : "false");
    if (!info->runnable) {
        printf("  \"not_runnable_because\": ");
        nt_cli_json_string(why_not_runnable);
        printf(",\n");
    }

    /* Metadata as a list of pairs: keys are unique in a valid file, but a
     * list keeps every entry even when they are not. */
    size_t n_meta = nexttok_model_meta_count_get(model);
    printf("  \"metadata\": [");
    char key[KEY_CAP], value[VALUE_CAP];
    for (size_t i = 0; i < n_meta; i++) {
        nexttok_status st = nexttok_model_meta_get(model, i, key, sizeof key, value, sizeof value);
        if (st != NEXTTOK_OK) {
            printf("\n");
            return nt_cli_api_fail(st, "metadata entry %zu", i);
        }
        printf("%s\n    {\"key\": ", i ? "," : "");
        nt_cli_json_string(key);
        printf(", \"value\": ");
        nt_cli_json_string(value);
        printf("}");
    }
    printf("%s],\n", n_meta ? "\n  " : "");

    size_t n_tensors = nexttok_model_tensor_count_get(model);
    printf("  \"tensors\": [");
    for (size_t i = 0; i < n_tensors; i++) {
        nexttok_tensor_info t;
        memset(&t, 0, sizeof t);
        t.struct_size = sizeof t;
        nexttok_status st = nexttok_model_tensor_info_get(model, i, &t);
        if (st != NEXTTOK_OK) {
            printf("\n");
            return nt_cli_api_fail(st, "tensor %zu", i);
        }
        uint8_t d[NEXTTOK_DIGEST_BYTES];
        st = nexttok_model_tensor_digest_get(model, i, d);
        if (st != NEXTTOK_OK) {
            printf("\n");
            return nt_cli_api_fail(st, "digest of tensor %zu", i);
        }
        char hex[2 * NEXTTOK_DIGEST_BYTES + 1];
        hex_digest(d, hex);
        printf("%s\n    {\"name\": ", i ? "," : "");
        nt_cli_json_string(t.name);
        printf(", \"type\": ");
        nt_cli_json_string(t.type_name);
        printf(", \"shape\": [");
        for (uint32_t k = 0; k < t.n_dims && k < 4; k++)
            printf("%s%" PRId64, k ? ", " : "", t.dims[k]);
        printf("], \"offset\": %" PRIu64 ", \"n_bytes\": %" PRIu64 ", \"blake2b_256\": \"%s\"}",
               t.offset, t.n_bytes, hex);
    }
    printf("%s]\n}\n", n_tensors ? "\n  " : "");
    return 0;
}

static int json_option(int argc, char **argv, int *i, void *json)
{
    (void)argc;
    if (strcmp(argv[*i], "--json") != 0) return 0;
    *(int *)json = 1;
    return 1;
}

int nt_cli_inspect(int argc, char **argv)
{
    const char *path = NULL;
    int json = 0;
    int rc;
    if (!nt_cli_scan_args(argc, argv, "inspect", usage, json_option, &json, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("inspect", "no model file given");

    /* Open the file to run it if the library can; otherwise read its
     * metadata and tensor table alone, and say why it cannot run. */
    nexttok_model *model = NULL;
    char why[1024] = "";
    nexttok_model_params params;
    nexttok_model_params_init(&params, sizeof params);
    nexttok_status st = nexttok_model_load(path, &params, &model);
    if (st == NEXTTOK_ERR_FORMAT || st == NEXTTOK_ERR_UNSUPPORTED) {
        snprintf(why, sizeof why, "%s", nexttok_error_message());
        if ((rc = nt_cli_model_load(path, true, &model)) != 0) return rc;
    } else if (st != NEXTTOK_OK) {
        return nt_cli_api_fail(st, "loading %s", path);
    }

    nexttok_model_info info;
    memset(&info, 0, sizeof info);
    info.struct_size = sizeof info;
    st = nexttok_model_info_get(model, &info);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "model facts of %s", path);
        goto done;
    }
    uint8_t digest[NEXTTOK_DIGEST_BYTES];
    st = nexttok_model_digest_get(model, digest);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "digest of %s", path);
        goto done;
    }
    char file_hex[2 * NEXTTOK_DIGEST_BYTES + 1];
    hex_digest(digest, file_hex);
    rc = json ? print_json(path, model, &info, file_hex, why) : print_text(path, model, &info, file_hex, why);
    if (rc == 0 && (fflush(stdout) != 0 || ferror(stdout)))
        rc = nt_cli_fail("cannot write the output");
done:
    nexttok_model_free(model);
    return rc;
}
