/* Pre-tokenizer: a sequence of PCRE2 regexes (8-bit, UTF + UCP, JIT) applied
 * the way llama.cpp's unicode_regex_split applies them. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pretokenizer.h"

#include <pcre2.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "tokenizer/pretok_digits.h"
#include "tokenizer/pretok_types.h"
#include "tokenizer/pretok_utf8.h"

struct nt_pretok {
    const nt_pretok_type *type;
    bool ignore_merges;
    size_t n_regexes;
    pcre2_general_context *gctx;
    pcre2_code *code[NT_PRETOK_MAX_REGEXES];
    /* set instead of code[i] where a hand-written matcher stands in */
    nt_pretok_digits *digits[NT_PRETOK_MAX_REGEXES];
};

static void *pcre_alloc(PCRE2_SIZE size, void *data)
{
    (void)data;
    return nt_malloc(size);
}

static void pcre_free(void *ptr, void *data)
{
    (void)data;
    nt_free(ptr);
}

/* \s and \S become the Unicode White_Space property: llama.cpp's whitespace
 * set is exactly that property, while PCRE2's \s under UCP also takes
 * U+180E. Other escapes are copied as they are. */
static char *rewrite_whitespace(const char *re)
{
    static const char ws[] = "\\p{White_Space}";
    static const char nws[] = "\\P{White_Space}";
    size_t n = 0;
    for (const char *c = re; *c; c++) {
        if (c[0] == '\\' && (c[1] == 's' || c[1] == 'S')) {
            n += sizeof ws - 1;
            c++;
        } else if (c[0] == '\\' && c[1]) {
            n += 2;
            c++;
        } else {
            n++;
        }
    }
    char *out = nt_malloc(n + 1);
    if (!out)
        return NULL;
    char *o = out;
    for (const char *c = re; *c; c++) {
        if (c[0] == '\\' && (c[1] == 's' || c[1] == 'S')) {
            const char *rep = c[1] == 's' ? ws : nws;
            memcpy(o, rep, sizeof ws - 1);
            o += sizeof ws - 1;
            c++;
        } else if (c[0] == '\\' && c[1]) {
            *o++ = *c++;
            *o++ = *c;
        } else {
            *o++ = *c;
        }
    }
    *o = 0;
    return out;
}

nexttok_status nt_pretok_create(const char *pre, nt_pretok **out)
{
    if (!out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "pre-tokenizer: NULL output pointer");
    *out = NULL;
    bool ignore_merges = false;
    const nt_pretok_type *type = nt_pretok_type_find(pre, &ignore_merges);
    if (!type)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED,
                       "unknown pre-tokenizer \"%s\" (not one of llama.cpp's names this library knows; "
                       "docs/internals.md lists them)", pre);

    nt_pretok *p = nt_calloc(1, sizeof *p);
    if (!p)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory");
    p->type = type;
    p->ignore_merges = ignore_merges;
    p->gctx = pcre2_general_context_create(pcre_alloc, pcre_free, NULL);
    if (!p->gctx) {
        nt_pretok_free(p);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory");
    }
    pcre2_compile_context *cctx = pcre2_compile_context_create(p->gctx);
    if (!cctx) {
        nt_pretok_free(p);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory");
    }
    nexttok_status st = NEXTTOK_OK;
    for (size_t i = 0; type->regexes[i]; i++) {
        if (strcmp(type->regexes[i], NT_PRETOK_RE_DIGIT_GROUPS) == 0) {
            st = nt_pretok_digits_create(p->gctx, &p->digits[i]);
            if (st != NEXTTOK_OK)
                break;
            p->n_regexes = i + 1;
            continue;
        }
        char *re = rewrite_whitespace(type->regexes[i]);
        if (!re) {
            st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory");
            break;
        }
        int err = 0;
        PCRE2_SIZE at = 0;
        /* DOLLAR_ENDONLY: '$' means the end of the piece, as in std::regex. */
        p->code[i] = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &at, cctx);
        nt_free(re);
        if (!p->code[i]) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof msg);
            /* PCRE2 allocates through nt_malloc (pcre_alloc): its heap
             * failure is ours to report as such, not a bad regex. */
            st = nt_fail(err == PCRE2_ERROR_HEAP_FAILED ? NEXTTOK_ERR_NO_MEMORY : NEXTTOK_ERR_UNSUPPORTED,
                         "pre-tokenizer '%s': regex %zu does not compile at %zu: %s",
                         type->name, i, (size_t)at, (const char *)msg);
            break;
        }
        p->n_regexes = i + 1;
        /* Without JIT (unsupported CPU, W^X policy) the interpreter still
         * gives the same matches, only slower. */
        (void)pcre2_jit_compile(p->code[i], PCRE2_JIT_COMPLETE);
    }
    pcre2_compile_context_free(cctx);
    if (st != NEXTTOK_OK) {
        nt_pretok_free(p);
        return st;
    }
    *out = p;
    return NEXTTOK_OK;
}

void nt_pretok_free(nt_pretok *p)
{
    if (!p)
        return;
    for (size_t i = 0; i < NT_PRETOK_MAX_REGEXES; i++) {
        pcre2_code_free(p->code[i]);
        nt_pretok_digits_free(p->digits[i]);
    }
    pcre2_general_context_free(p->gctx);
    nt_free(p);
}

const char *nt_pretok_type_name(const nt_pretok *p)
{
    return p ? p->type->name : NULL;
}

bool nt_pretok_ignore_merges(const nt_pretok *p)
{
    return p && p->ignore_merges;
}

/* Everything one split call owns, so that calls can run concurrently. */
typedef struct split_call {
    const nt_pretok *p;
    const char *subject; /* valid UTF-8 */
    nt_pretok_offset_map map;
    bool mapped; /* subject is a repaired copy: translate offsets */
    pcre2_match_data *md[NT_PRETOK_MAX_REGEXES];
    pcre2_match_context *mctx; /* made on demand: bigger JIT stack */
    pcre2_jit_stack *jit_stack;
    size_t jit_stack_size;
    nt_pretok_emit_fn emit;
    void *user;
} split_call;

static void emit_piece(split_call *c, size_t start, size_t end)
{
    if (c->mapped) {
        size_t a = nt_pretok_offset_map_orig(&c->map, start);
        size_t b = nt_pretok_offset_map_orig(&c->map, end);
        c->emit(c->user, a, b - a);
    } else {
        c->emit(c->user, start, end - start);
    }
}

/* The JIT's default 32 KiB stack can run out on long runs matched by a
 * repeated group; retry with a bigger one, up to 64 MiB. */
static bool grow_jit_stack(split_call *c)
{
    size_t size = c->jit_stack_size ? c->jit_stack_size * 8 : (size_t)1 << 20;
    if (size > (size_t)64 << 20)
        return false;
    if (!c->mctx) {
        c->mctx = pcre2_match_context_create(c->p->gctx);
        if (!c->mctx)
            return false;
    }
    pcre2_jit_stack *js = pcre2_jit_stack_create(32 * 1024, size, c->p->gctx);
    if (!js)
        return false;
    pcre2_jit_stack_assign(c->mctx, NULL, js);
    pcre2_jit_stack_free(c->jit_stack);
    c->jit_stack = js;
    c->jit_stack_size = size;
    return true;
}

/* Split subject[start..end) with regex `level` and hand every match and
 * every gap between matches to the next level; past the last level, emit. */
static nexttok_status split_level(split_call *c, size_t level, size_t start, size_t end)
{
    if (level == c->p->n_regexes) {
        emit_piece(c, start, end);
        return NEXTTOK_OK;
    }
    /* The piece is the whole subject of the match, so look-arounds and '$'
     * see its ends, as llama.cpp's per-piece std::regex_iterator does. */
    const PCRE2_SPTR piece = (PCRE2_SPTR)(c->subject + start);
    const size_t len = end - start;
    pcre2_match_data *md = c->md[level];
    const nt_pretok_digits *digits = c->p->digits[level];
    nt_pretok_digits_state dstate = {NULL, 0};
    size_t pos = 0, ms = 0, me = 0;
    nexttok_status st;
    while (pos < len) {
        int rc;
        if (digits) {
            rc = nt_pretok_digits_find(digits, &dstate, piece, len, pos, md, c->mctx, &ms, &me);
        } else {
            rc = pcre2_match(c->p->code[level], piece, len, pos, PCRE2_NO_UTF_CHECK | PCRE2_NOTEMPTY, md,
                             c->mctx);
            if (rc >= 0) {
                const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
                ms = ov[0];
                me = ov[1];
            }
        }
        if (rc == PCRE2_ERROR_NOMATCH)
            break;
        if (rc == PCRE2_ERROR_JIT_STACKLIMIT && grow_jit_stack(c))
            continue;
        if (rc < 0) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(rc, msg, sizeof msg);
            return nt_fail(rc == PCRE2_ERROR_NOMEMORY || rc == PCRE2_ERROR_JIT_STACKLIMIT
                               ? NEXTTOK_ERR_NO_MEMORY
                               : NEXTTOK_ERR_UNSUPPORTED,
                           "pre-tokenizer '%s': regex %zu failed at byte %zu: %s", c->p->type->name,
                           level, start + pos, (const char *)msg);
        }
        if (ms > pos && (st = split_level(c, level + 1, start + pos, start + ms)) != NEXTTOK_OK)
            return st;
        if ((st = split_level(c, level + 1, start + ms, start + me)) != NEXTTOK_OK)
            return st;
        pos = me;
    }
    if (pos < len)
        return split_level(c, level + 1, start + pos, end);
    return NEXTTOK_OK;
}

nexttok_status nt_pretok_split(const nt_pretok *p, const char *text, size_t len,
                               nt_pretok_emit_fn emit, void *user)
{
    if (!p || !emit || (!text && len))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "pre-tokenizer split: NULL argument");
    if (len == 0)
        return NEXTTOK_OK;

    split_call c;
    memset(&c, 0, sizeof c);
    c.p = p;
    c.emit = emit;
    c.user = user;
    c.subject = text;

    nt_pretok_sanitized san;
    memset(&san, 0, sizeof san);
    nexttok_status st = NEXTTOK_OK;
    size_t subject_len = len;
    if (!nt_pretok_utf8_valid(text, len)) {
        st = nt_pretok_utf8_sanitize(text, len, &san);
        if (st != NEXTTOK_OK)
            return st;
        c.subject = san.text;
        subject_len = san.len;
        c.map.s = &san;
        c.mapped = true;
    }
    for (size_t i = 0; i < p->n_regexes; i++) {
        /* One pair is enough: only the whole match is read. */
        c.md[i] = pcre2_match_data_create(1, p->gctx);
        if (!c.md[i]) {
            st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "pre-tokenizer: no memory for match data");
            break;
        }
    }
    if (st == NEXTTOK_OK)
        st = split_level(&c, 0, 0, subject_len);

    for (size_t i = 0; i < p->n_regexes; i++)
        pcre2_match_data_free(c.md[i]);
    pcre2_match_context_free(c.mctx);
    pcre2_jit_stack_free(c.jit_stack);
    nt_pretok_sanitized_free(&san);
    return st;
}
