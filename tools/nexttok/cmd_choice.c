/* nexttok choice MODEL --jsonl F [--json] [--per-item] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "args.h"
#include "choice_items.h"
#include "commands.h"
#include "nexttok.h"
#include "progress.h"

static void usage(void)
{
    printf("usage: nexttok choice MODEL --jsonl F [--json] [--per-item]\n"
           "                     [--threads T] [--ctx N] [--precision fast|exact|portable]\n"
           "                     [--kv-type f32|f16|q8_0] [--batch N]\n\n"
           "Multiple-choice accuracy, as lm-evaluation-harness defines acc and acc_norm.\n"
           "Each line of F is one JSON object:\n"
           "  {\"context\": \"...\", \"endings\": [\"...\", ...], \"label\": k}\n"
           "with a non-empty list of non-empty endings and k the 0-based index of the\n"
           "right one (other keys are ignored; blank lines are skipped). For each\n"
           "ending, context + ending is tokenized as one text (BOS as the vocabulary\n"
           "says) and the tokens after the first len(tokenize(context)) are scored: the\n"
           "sum of their log-probabilities is the ending's log-likelihood. White space at\n"
           "the end of the context moves to the start of the ending first, and a context\n"
           "with no tokens becomes the BOS (or EOS) token, as lm-evaluation-harness does.\n"
           "The context is fed once per item and shared by its endings.\n\n"
           "  acc       the share of items whose highest log-likelihood is the label's\n"
           "  acc_norm  the same with each log-likelihood divided by the ending's length\n"
           "            in characters (Unicode code points)\n"
           "Ties go to the lower index. The whole file is read and checked first: a bad\n"
           "line (not JSON, a missing key, a wrong type, a label out of range) is an\n"
           "error naming its line number, and then no score is printed.\n\n"
           "  --jsonl F            the items\n"
           "  --per-item           also each item: line, label, the two predictions and\n"
           "                       every ending's log-likelihood, length and token count\n"
           "  --json               one JSON object on stdout (items under \"per_item\")\n" NT_CLI_SESSION_OPTIONS_HELP);
}

typedef nt_choice_item choice_item;
typedef nt_choice_set choice_set;

/* Parse every line of the file before any model work, so a bad line
 * costs no model load and no score is ever printed for a bad file. */
static int items_read(const char *file, choice_set *set)
{
    char *data = NULL;
    size_t size = 0;
    int rc = nt_cli_read_file(file, &data, &size);
    if (rc) return rc;
    char err[512];
    if (!nt_choice_items_parse(data, size, set, err, sizeof err)) rc = nt_cli_fail("%s %s", file, err);
    free(data);
    return rc;
}

/* Score every ending of one item with the library's lm-eval scoring. 0 or
 * an exit status. */
static int item_score(const char *file, choice_item *it, nexttok_session *session, const nexttok_tokenizer *tok)
{
    size_t *lens = malloc(it->n_endings * sizeof *lens);
    nexttok_choice_score *scores = malloc(it->n_endings * sizeof *scores);
    int rc = 0;
    if (!lens || !scores) {
        rc = nt_cli_fail("out of memory");
        goto done;
    }
    for (size_t e = 0; e < it->n_endings; e++) lens[e] = strlen(it->endings[e]);
    nexttok_choices_info info = {.struct_size = sizeof info};
    nexttok_status st = nexttok_session_choices_score(session, tok, it->context, strlen(it->context),
                                                      (const char *const *)it->endings, lens, it->n_endings, scores,
                                                      it->n_endings, &info);
    if (st != NEXTTOK_OK) {
        rc = nt_cli_api_fail(st, "%s line %zu: scoring the endings", file, it->line);
        goto done;
    }
    for (size_t e = 0; e < it->n_endings; e++) {
        it->ll[e] = scores[e].logprob_sum;
        it->n_tokens[e] = scores[e].n_tokens;
        it->greedy[e] = scores[e].greedy;
        it->chars[e] = scores[e].n_chars;
    }
    it->pred = info.best;
    it->pred_norm = info.best_norm;
done:
    free(lens);
    free(scores);
    return rc;
}

static void print_json(const char *path, const char *file, const choice_set *set, double acc, double acc_norm,
                       bool per_item)
{
    fputs("{\"model\": ", stdout);
    nt_cli_json_string(path);
    fputs(", \"jsonl\": ", stdout);
    nt_cli_json_string(file);
    printf(", \"items\": %zu, \"acc\": %.17g, \"acc_norm\": %.17g", set->n, acc, acc_norm);
    if (per_item) {
        fputs(", \"per_item\": [", stdout);
        for (size_t i = 0; i < set->n; i++) {
            const choice_item *it = &set->items[i];
            printf("%s{\"line\": %zu, \"label\": %lld, \"pred\": %zu, \"pred_norm\": %zu, \"loglikelihoods\": [",
                   i ? ", " : "", it->line, (long long)it->label, it->pred, it->pred_norm);
            for (size_t e = 0; e < it->n_endings; e++) printf("%s%.17g", e ? ", " : "", it->ll[e]);
            fputs("], \"lengths\": [", stdout);
            for (size_t e = 0; e < it->n_endings; e++) printf("%s%lld", e ? ", " : "", (long long)it->chars[e]);
            fputs("], \"tokens\": [", stdout);
            for (size_t e = 0; e < it->n_endings; e++) printf("%s%d", e ? ", " : "", (int)it->n_tokens[e]);
            fputs("], \"greedy\": [", stdout);
            for (size_t e = 0; e < it->n_endings; e++) printf("%s%s", e ? ", " : "", it->greedy[e] ? "true" : "false");
            fputs("]}", stdout);
        }
        fputs("]", stdout);
    }
    fputs("}\n", stdout);
}

static void print_text(const choice_set *set, double acc, double acc_norm, bool per_item)
{
    if (per_item) {
        printf("# line\tlabel\tpred\tpred_norm\tloglikelihood/chars/tokens of each ending\n");
        for (size_t i = 0; i < set->n; i++) {
            const choice_item *it = &set->items[i];
            printf("%zu\t%lld\t%zu\t%zu", it->line, (long long)it->label, it->pred, it->pred_norm);
            for (size_t e = 0; e < it->n_endings; e++)
                printf("\t%.6f/%lld/%d", it->ll[e], (long long)it->chars[e], (int)it->n_tokens[e]);
            putchar('\n');
        }
    }
    printf("items     %zu\n", set->n);
    printf("acc       %.6f\n", acc);
    printf("acc_norm  %.6f\n", acc_norm);
}

typedef struct choice_options {
    nt_cli_session_opts sess;
    const char *jsonl;
    int json, per_item;
} choice_options;

static int choice_option(int argc, char **argv, int *i, void *ctx)
{
    choice_options *o = ctx;
    if (strcmp(argv[*i], "--json") == 0) {
        o->json = 1;
        return 1;
    }
    if (strcmp(argv[*i], "--per-item") == 0) {
        o->per_item = 1;
        return 1;
    }
    int r = nt_cli_opt_value(argc, argv, i, "--jsonl", &o->jsonl);
    if (r == 0) r = nt_cli_session_option(argc, argv, i, "choice", &o->sess);
    return r;
}

int nt_cli_choice(int argc, char **argv)
{
    const char *path = NULL;
    choice_options o = {0};
    int rc = 0;
    if (!nt_cli_scan_args(argc, argv, "choice", usage, choice_option, &o, &path, &rc)) return rc;
    if (!path) return nt_cli_usage_fail("choice", "no model file given");
    if (!o.jsonl) return nt_cli_usage_fail("choice", "no items: give --jsonl F");

    choice_set set = {0};
    nexttok_model *model = NULL;
    nexttok_tokenizer *tok = NULL;
    nexttok_session *session = NULL;
    nt_cli_progress progress;
    nt_cli_progress_start(&progress, "choice");
    if ((rc = items_read(o.jsonl, &set)) != 0) goto done;
    if ((rc = nt_cli_model_load(path, false, &model)) != 0) goto done;
    if ((rc = nt_cli_tokenizer_create(model, true, &tok)) != 0) goto done;
    if ((rc = nt_cli_session_create(model, &o.sess, &session)) != 0) goto done;
    size_t right = 0, right_norm = 0;
    for (size_t i = 0; i < set.n; i++) {
        char detail[64];
        snprintf(detail, sizeof detail, "item %zu of %zu", i + 1, set.n);
        nt_cli_progress_update(&progress, (double)i / (double)set.n, detail);
        if ((rc = item_score(o.jsonl, &set.items[i], session, tok)) != 0) goto done;
        right += set.items[i].pred == (size_t)set.items[i].label;
        right_norm += set.items[i].pred_norm == (size_t)set.items[i].label;
    }
    nt_cli_progress_end(&progress);
    const double acc = (double)right / (double)set.n, acc_norm = (double)right_norm / (double)set.n;
    if (o.json) print_json(path, o.jsonl, &set, acc, acc_norm, o.per_item);
    else print_text(&set, acc, acc_norm, o.per_item);
    if (fflush(stdout) != 0 || ferror(stdout)) rc = nt_cli_fail("cannot write the output");
done:
    nt_cli_progress_end(&progress);
    nexttok_session_free(session);
    nexttok_tokenizer_free(tok);
    nexttok_model_free(model);
    nt_choice_set_free(&set);
    return rc;
}
