/*
 * nexttok_zip_compress / nexttok_zip_decompress: the input's plan of text
 * and raw stretches, range-coded. The payload is a sequence of stretches
 * until the original length is reached, each
 *     kind (1 of 2: text 0, raw 1), length in bytes (32 bits),
 *     text: its token count (32 bits), then each token with the model's
 *           frequencies (freq.h) after the tokens before it;
 *     raw:  each byte, 1 of 256.
 * Both sides drive the model alike (zip_lm below): a portable session that
 * starts with BOS where the vocabulary has one (the first token of a
 * vocabulary without BOS is coded uniformly) and, when full, restarts from
 * BOS and the last half of its window. Raw stretches leave it as it is.
 * The encoder feeds a text stretch in groups and reads every row's logits,
 * which are bitwise those of feeding one token at a time, as the decoder
 * does.
 */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "session/session.h"
#include "zip/freq.h"
#include "zip/header.h"
#include "zip/plan.h"
#include "zip/rc.h"

#define NT_ZIP_DEFAULT_CTX 1024
#define NT_ZIP_GROUP 64 /* tokens per encoder feed */

static const nexttok_zip_params nt_zip_defaults = {.struct_size = sizeof(nexttok_zip_params)};

NEXTTOK_API void nexttok_zip_params_init(nexttok_zip_params *params, size_t struct_size)
{
    nt_params_init(params, struct_size, &nt_zip_defaults, sizeof nt_zip_defaults);
}

NEXTTOK_API size_t nexttok_zip_bound(size_t in_len)
{
    return in_len > SIZE_MAX - NEXTTOK_ZIP_HEADER_BYTES ? 0 : in_len + NEXTTOK_ZIP_HEADER_BYTES;
}

/* ---- the model as both sides run it ----------------------------------- */

typedef struct zip_lm {
    nexttok_session *s;
    int32_t n_vocab, n_ctx, bos, keep;
    uint32_t *freq;
    double *work;
    int32_t *slide;  /* [keep + 1] */
    float *rows;     /* encoder: [NT_ZIP_GROUP][n_vocab] */
} zip_lm;

static void lm_free(zip_lm *lm)
{
    nexttok_session_free(lm->s);
    nt_free(lm->freq);
    nt_free(lm->work);
    nt_free(lm->slide);
    nt_free(lm->rows);
}

static nexttok_status lm_start(zip_lm *lm, const nexttok_model *m, const nexttok_tokenizer *tok,
                               const nexttok_zip_params *p, int32_t n_ctx, bool rows)
{
    memset(lm, 0, sizeof *lm);
    lm->n_vocab = nexttok_model_n_vocab_get(m);
    lm->n_ctx = n_ctx;
    lm->bos = nexttok_tokenizer_bos_get(tok);
    const int32_t hb = lm->bos >= 0;
    lm->keep = (n_ctx - hb) / 2;
    nexttok_session_params sp;
    nexttok_session_params_init(&sp, sizeof sp);
    sp.n_ctx = n_ctx;
    sp.n_threads = p->n_threads;
    sp.pool = p->pool;
    sp.precision = NEXTTOK_PRECISION_PORTABLE;
    sp.n_batch = NT_ZIP_GROUP;
    nexttok_status st = nexttok_session_create(m, &sp, &lm->s);
    if (st != NEXTTOK_OK) return st;
    const size_t V = (size_t)lm->n_vocab;
    lm->freq = nt_malloc_array(V, sizeof *lm->freq);
    lm->work = nt_malloc_array(V, sizeof *lm->work);
    lm->slide = nt_malloc_array((size_t)lm->keep + 1, sizeof *lm->slide);
    if (rows) lm->rows = nt_malloc_array(V * NT_ZIP_GROUP, sizeof *lm->rows);
    if (!lm->freq || !lm->work || !lm->slide || (rows && !lm->rows))
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "zip: out of memory for a vocabulary of %d", lm->n_vocab);
    if (lm->bos >= 0) return nexttok_session_feed(lm->s, &lm->bos, 1, NULL, 0);
    return NEXTTOK_OK;
}

/* lm->freq for the next token: from `logits`, or uniform without context. */
static void lm_freqs(zip_lm *lm, const float *logits)
{
    if (!logits && nexttok_session_position_get(lm->s) > 0) logits = lm->s->logits;
    if (logits) {
        nt_zip_freqs(logits, lm->n_vocab, lm->work, lm->freq);
        return;
    }
    const uint32_t base = NT_ZIP_TOTAL / (uint32_t)lm->n_vocab;
    uint32_t rest = NT_ZIP_TOTAL - base * (uint32_t)lm->n_vocab;
    for (int32_t i = 0; i < lm->n_vocab; i++) lm->freq[i] = base + (rest > 0 ? (rest--, 1u) : 0u);
}

/* Room for one more token: a full session restarts from BOS and the last
 * `keep` tokens it held. Returns the room left. */
static nexttok_status lm_room(zip_lm *lm, int32_t *room)
{
    nexttok_session *s = lm->s;
    if (s->pos == lm->n_ctx) {
        int32_t n = 0;
        if (lm->bos >= 0) lm->slide[n++] = lm->bos;
        memcpy(lm->slide + n, s->tokens + s->pos - lm->keep, (size_t)lm->keep * sizeof *lm->slide);
        n += lm->keep;
        nexttok_status st = nexttok_session_reset(s);
        if (st == NEXTTOK_OK) st = nexttok_session_feed(s, lm->slide, (size_t)n, NULL, 0);
        if (st != NEXTTOK_OK) return st;
    }
    *room = lm->n_ctx - s->pos;
    return NEXTTOK_OK;
}

static void cum_of(const uint32_t *freq, int32_t tok, uint64_t *cum)
{
    uint64_t c = 0;
    for (int32_t i = 0; i < tok; i++) c += freq[i];
    *cum = c;
}

static bool progress(const nexttok_zip_params *p, double done, double total)
{
    if (!p->progress) return true;
    return p->progress(total > 0 ? (float)(done / total) : 1.0f, p->progress_user_data) == 0;
}

/* ---- compress ------------------------------------------------------------ */

static nexttok_status resolve_ctx(const nexttok_model *m, const nexttok_zip_params *p, int32_t *n_ctx)
{
    const int32_t train = nexttok_model_n_ctx_train_get(m);
    int32_t n = p->n_ctx ? p->n_ctx : (train < NT_ZIP_DEFAULT_CTX ? train : NT_ZIP_DEFAULT_CTX);
    if (n < 4 || n > train)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "zip: window of %d tokens outside [4, %d] (the model's trained context)",
                       n, train);
    *n_ctx = n;
    return NEXTTOK_OK;
}

static nexttok_status check_model(const nexttok_model *m, const nexttok_tokenizer *tok)
{
    nexttok_model_info info = {.struct_size = sizeof info};
    nexttok_status st = nexttok_model_info_get(m, &info);
    if (st != NEXTTOK_OK) return st;
    if (!info.runnable) return nt_fail(NEXTTOK_ERR_STATE, "zip: the model was opened metadata-only and cannot run");
    if (info.n_vocab > NT_ZIP_MAX_VOCAB)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "zip: a vocabulary of %d tokens is more than the %d it codes", info.n_vocab,
                       NT_ZIP_MAX_VOCAB);
    if (tok && nexttok_tokenizer_n_vocab_get(tok) != info.n_vocab)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "zip: the tokenizer's %d tokens are not the model's %d",
                       nexttok_tokenizer_n_vocab_get(tok), info.n_vocab);
    return NEXTTOK_OK;
}

/* Code the plan into e; NEXTTOK_OK also when e overflowed (the caller
 * then stores). */
static nexttok_status encode_plan(zip_lm *lm, const nexttok_tokenizer *tok, const nexttok_zip_params *p,
                                  const unsigned char *in, size_t in_len, nt_zip_plan *plan, nt_rc_enc *e)
{
    const size_t V = (size_t)lm->n_vocab;
    for (size_t k = 0; k < plan->n && !e->overflow; k++) {
        const nt_zip_seg *g = &plan->segs[k];
        nt_rc_enc_put(e, g->text ? 0 : 1, 1, 2);
        nt_rc_enc_bits(e, (uint32_t)g->len, 32);
        if (!g->text) {
            for (size_t i = 0; i < g->len; i++) nt_rc_enc_put(e, in[g->start + i], 1, 256);
            if (!progress(p, (double)(g->start + g->len), (double)in_len))
                return nt_fail(NEXTTOK_ERR_CANCELLED, "zip: cancelled by the progress callback");
            continue;
        }
        size_t n = 0;
        nexttok_status st;
        if (!nt_zip_plan_tokens(tok, in + g->start, g->len, plan, &n, &st))
            return st != NEXTTOK_OK ? st : nt_fail(NEXTTOK_ERR_STATE, "zip: the tokenizer changed its mind about a text");
        nt_rc_enc_bits(e, (uint32_t)n, 32);
        const int32_t *t = plan->tokens;
        size_t next_report = 256;
        for (size_t i = 0; i < n && !e->overflow;) {
            uint64_t cum;
            lm_freqs(lm, NULL);
            cum_of(lm->freq, t[i], &cum);
            nt_rc_enc_put(e, cum, lm->freq[t[i]], NT_ZIP_TOTAL);
            int32_t room;
            if ((st = lm_room(lm, &room)) != NEXTTOK_OK) return st;
            size_t grp = n - i < NT_ZIP_GROUP ? n - i : NT_ZIP_GROUP;
            if (grp > (size_t)room) grp = (size_t)room;
            if ((st = nexttok_session_feed(lm->s, t + i, grp, lm->rows, V * NT_ZIP_GROUP)) != NEXTTOK_OK) return st;
            for (size_t j = 1; j < grp; j++) {
                lm_freqs(lm, lm->rows + (j - 1) * V);
                cum_of(lm->freq, t[i + j], &cum);
                nt_rc_enc_put(e, cum, lm->freq[t[i + j]], NT_ZIP_TOTAL);
            }
            i += grp;
            if (i >= next_report) {
                next_report = i + 256;
                if (!progress(p, (double)g->start + (double)g->len * (double)i / (double)n, (double)in_len))
                    return nt_fail(NEXTTOK_ERR_CANCELLED, "zip: cancelled by the progress callback");
            }
        }
    }
    return NEXTTOK_OK;
}

static nexttok_status compress(const nexttok_model *m, const nexttok_tokenizer *tok, const nexttok_zip_params *p,
                               const unsigned char *in, size_t in_len, unsigned char *out, size_t out_cap,
                               size_t *out_len)
{
    nexttok_status st = check_model(m, tok);
    int32_t n_ctx = 0;
    if (st == NEXTTOK_OK) st = resolve_ctx(m, p, &n_ctx);
    if (st != NEXTTOK_OK) return st;
    const size_t bound = nexttok_zip_bound(in_len);
    if (bound == 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "zip: %zu bytes are too many", in_len);
    if (out_cap < NEXTTOK_ZIP_HEADER_BYTES) {
        *out_len = bound;
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "zip: %zu bytes of output room; up to %zu needed", out_cap, bound);
    }
    nt_zip_header h = {.version = NT_ZIP_VERSION, .original_len = in_len, .n_ctx = (uint32_t)n_ctx,
                       .total_bits = NT_ZIP_TOTAL_BITS};
    if ((st = nexttok_model_digest_get(m, h.model_digest)) != NEXTTOK_OK) return st;
    nt_zip_checksum(in, in_len, h.checksum);

    /* coded only when it is smaller than the input */
    size_t coded = 0;
    bool stored = true;
    if (in_len > 0) {
        const size_t room = out_cap - NEXTTOK_ZIP_HEADER_BYTES;
        const size_t cap = room < in_len - 1 ? room : in_len - 1;
        nt_zip_plan plan;
        zip_lm lm;
        nt_rc_enc e;
        nt_rc_enc_init(&e, out + NEXTTOK_ZIP_HEADER_BYTES, cap);
        st = nt_zip_plan_make(tok, in, in_len, &plan);
        if (st == NEXTTOK_OK) st = lm_start(&lm, m, tok, p, n_ctx, true);
        else memset(&lm, 0, sizeof lm);
        if (st == NEXTTOK_OK) st = encode_plan(&lm, tok, p, in, in_len, &plan, &e);
        lm_free(&lm);
        nt_zip_plan_free(&plan);
        if (st != NEXTTOK_OK) return st;
        coded = nt_rc_enc_finish(&e);
        if (!e.overflow) stored = false;
        else if (cap < in_len - 1) { /* the caller's room ran out first */
            *out_len = bound;
            return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "zip: %zu bytes of output room were not enough; up to %zu needed",
                           out_cap, bound);
        }
    }
    if (stored) {
        if (out_cap < bound) {
            *out_len = bound;
            return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "zip: the input does not compress and needs %zu bytes stored, "
                           "%zu given", bound, out_cap);
        }
        memcpy(out + NEXTTOK_ZIP_HEADER_BYTES, in, in_len);
        coded = in_len;
        h.flags |= NT_ZIP_FLAG_STORED;
    }
    h.payload_len = coded;
    nt_zip_header_write(&h, out);
    *out_len = NEXTTOK_ZIP_HEADER_BYTES + coded;
    progress(p, 1.0, 1.0);
    return NEXTTOK_OK;
}

/* Shared entry checks; *own is a tokenizer made here when none is given. */
static nexttok_status enter(const char *fn, const nexttok_model *m, const nexttok_tokenizer **tok,
                            nexttok_tokenizer **own, const nexttok_zip_params *params, nexttok_zip_params *p,
                            const void *in, size_t in_len, const void *out, size_t out_cap, size_t *out_len)
{
    *own = NULL;
    if (out_len) *out_len = 0;
    if (!m || !out_len || (!in && in_len) || (!out && out_cap))
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT,
                       "%s: model and out_len must not be NULL, nor in (out) with a length (capacity) above 0", fn);
    *p = nt_zip_defaults;
    nexttok_status st = nt_params_merge(p, sizeof *p, params, fn);
    if (st != NEXTTOK_OK) return st;
    if (p->n_threads < 0) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "%s: n_threads %d is negative", fn, p->n_threads);
    if (!*tok) {
        st = nexttok_tokenizer_create(m, own);
        if (st != NEXTTOK_OK) return st;
        *tok = *own;
    }
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_zip_compress(const nexttok_model *model, const nexttok_tokenizer *tokenizer,
                                                const nexttok_zip_params *params, const void *in, size_t in_len,
                                                void *out, size_t out_cap, size_t *out_len)
{
    nt_error_clear();
    nexttok_zip_params p;
    nexttok_tokenizer *own;
    nexttok_status st = enter("nexttok_zip_compress", model, &tokenizer, &own, params, &p, in, in_len, out, out_cap,
                              out_len);
    if (st == NEXTTOK_OK) {
        size_t need = 0;
        st = compress(model, tokenizer, &p, in, in_len, out, out_cap, &need);
        if (st != NEXTTOK_OK && out) { /* nothing half-made: zero what may have been written */
            const size_t bound = nexttok_zip_bound(in_len);
            memset(out, 0, bound && bound < out_cap ? bound : out_cap);
        }
        *out_len = need;
    }
    nexttok_tokenizer_free(own);
    return st;
}

/* ---- decompress ---------------------------------------------------------- */

NEXTTOK_API nexttok_status nexttok_zip_info_get(const void *in, size_t in_len, nexttok_zip_info *info)
{
    nt_error_clear();
    if (!in || !info) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_zip_info_get: in and info must not be NULL");
    if (in_len == 0) return nt_fail(NEXTTOK_ERR_FORMAT, "not a nexttok zip file: no bytes");
    nt_zip_header h;
    nexttok_status st = nt_zip_header_read(in, in_len, &h);
    if (st != NEXTTOK_OK) return st;
    nexttok_zip_info full = {.struct_size = sizeof full, .version = h.version,
                             .stored = (h.flags & NT_ZIP_FLAG_STORED) != 0, .original_len = h.original_len,
                             .payload_len = h.payload_len, .n_ctx = (int32_t)h.n_ctx};
    memcpy(full.model_digest, h.model_digest, sizeof full.model_digest);
    memcpy(full.checksum, h.checksum, sizeof full.checksum);
    return nt_info_fill(info, &full, sizeof full, "nexttok_zip_info_get");
}

static void hex8(const uint8_t *d, char out[17])
{
    static const char x[] = "0123456789abcdef";
    for (int i = 0; i < 8; i++) {
        out[2 * i] = x[d[i] >> 4];
        out[2 * i + 1] = x[d[i] & 15];
    }
    out[16] = 0;
}

static nexttok_status corrupt(const char *what)
{
    return nt_fail(NEXTTOK_ERR_CHECKSUM, "zip payload corrupted: %s", what);
}

static nexttok_status decode_payload(zip_lm *lm, const nexttok_tokenizer *tok, const nexttok_zip_params *p,
                                     const unsigned char *pay, size_t pay_len, unsigned char *out, size_t n_out)
{
    nt_rc_dec d;
    nt_rc_dec_init(&d, pay, pay_len);
    int32_t *tokens = NULL;
    size_t tokens_cap = 0;
    nexttok_status st = NEXTTOK_OK;
    for (size_t done = 0; done < n_out && st == NEXTTOK_OK;) {
        uint32_t kind, len, n;
        if (!nt_rc_dec_bits(&d, 1, &kind) || !nt_rc_dec_bits(&d, 32, &len)) { st = corrupt("a stretch header"); break; }
        if (len == 0 || len > n_out - done) { st = corrupt("a stretch runs past the original's end"); break; }
        if (kind == 1) {
            for (uint32_t i = 0; i < len; i++) {
                const uint64_t t = nt_rc_dec_target(&d, 256);
                if (t == UINT64_MAX) { st = corrupt("a raw byte"); break; }
                nt_rc_dec_take(&d, t, 1);
                out[done + i] = (unsigned char)t;
            }
            done += len;
            if (st == NEXTTOK_OK && !progress(p, (double)done, (double)n_out))
                st = nt_fail(NEXTTOK_ERR_CANCELLED, "unzip: cancelled by the progress callback");
            continue;
        }
        if (!nt_rc_dec_bits(&d, 32, &n) || n == 0 || n > len || len > NT_ZIP_SEG_MAX) {
            st = corrupt("a text stretch's token count");
            break;
        }
        if (n > tokens_cap) {
            int32_t *q = nt_realloc_array(tokens, n, sizeof *tokens);
            if (!q) { st = nt_fail(NEXTTOK_ERR_NO_MEMORY, "unzip: out of memory for %u tokens", n); break; }
            tokens = q;
            tokens_cap = n;
        }
        for (uint32_t i = 0; i < n && st == NEXTTOK_OK; i++) {
            lm_freqs(lm, NULL);
            const uint64_t t = nt_rc_dec_target(&d, NT_ZIP_TOTAL);
            if (t == UINT64_MAX) { st = corrupt("a token"); break; }
            uint64_t cum = 0;
            int32_t k = 0;
            while (cum + lm->freq[k] <= t) cum += lm->freq[k++]; /* ends: the freqs sum to the total */
            nt_rc_dec_take(&d, cum, lm->freq[k]);
            tokens[i] = k;
            int32_t room;
            st = lm_room(lm, &room);
            if (st == NEXTTOK_OK) st = nexttok_session_feed(lm->s, &tokens[i], 1, NULL, 0);
            if (st == NEXTTOK_OK && (i + 1) % 256 == 0 &&
                !progress(p, (double)done + (double)len * (double)(i + 1) / (double)n, (double)n_out))
                st = nt_fail(NEXTTOK_ERR_CANCELLED, "unzip: cancelled by the progress callback");
        }
        if (st != NEXTTOK_OK) break;
        size_t got = 0;
        nexttok_status r = nexttok_tokenizer_decode(tok, tokens, n, 0, (char *)out + done, len, &got);
        if (r != NEXTTOK_OK || got != len) { st = corrupt("a text stretch decodes to another length"); break; }
        done += len;
    }
    nt_free(tokens);
    return st;
}

static nexttok_status decompress(const nexttok_model *m, const nexttok_tokenizer *tok, const nexttok_zip_params *p,
                                 const unsigned char *in, size_t in_len, unsigned char *out, size_t out_cap,
                                 size_t *out_len, size_t *written)
{
    *written = 0;
    if (in_len == 0) return nt_fail(NEXTTOK_ERR_FORMAT, "not a nexttok zip file: no bytes");
    nt_zip_header h;
    nexttok_status st = nt_zip_header_read(in, in_len, &h);
    if (st != NEXTTOK_OK) return st;
    uint8_t digest[NEXTTOK_DIGEST_BYTES];
    if ((st = nexttok_model_digest_get(m, digest)) != NEXTTOK_OK) return st;
    if (memcmp(digest, h.model_digest, sizeof digest) != 0) {
        char want[17], have[17];
        hex8(h.model_digest, want);
        hex8(digest, have);
        return nt_fail(NEXTTOK_ERR_MODEL_MISMATCH, "zip file made with another model (digest %s..., this model's is %s...)",
                       want, have);
    }
    if (h.original_len > SIZE_MAX)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "unzip: %llu bytes do not fit this machine's memory",
                       (unsigned long long)h.original_len);
    const size_t n_out = (size_t)h.original_len;
    if (out_cap < n_out) {
        *out_len = n_out;
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "unzip: %zu bytes of output room, %zu needed", out_cap, n_out);
    }
    const unsigned char *pay = in + NEXTTOK_ZIP_HEADER_BYTES;
    *written = n_out;
    if (h.flags & NT_ZIP_FLAG_STORED) {
        if (n_out) memcpy(out, pay, n_out);
    } else {
        if ((st = check_model(m, tok)) != NEXTTOK_OK) return st;
        if ((int64_t)h.n_ctx > nexttok_model_n_ctx_train_get(m))
            return nt_fail(NEXTTOK_ERR_FORMAT, "zip header: window of %u tokens, beyond the model's context", h.n_ctx);
        zip_lm lm;
        st = lm_start(&lm, m, tok, p, (int32_t)h.n_ctx, false);
        if (st == NEXTTOK_OK) st = decode_payload(&lm, tok, p, pay, (size_t)h.payload_len, out, n_out);
        lm_free(&lm);
        if (st != NEXTTOK_OK) return st;
    }
    uint8_t sum[NEXTTOK_DIGEST_BYTES];
    nt_zip_checksum(out, n_out, sum);
    if (memcmp(sum, h.checksum, sizeof sum) != 0)
        return nt_fail(NEXTTOK_ERR_CHECKSUM, "zip payload corrupted: the unzipped bytes do not match the checksum");
    *out_len = n_out;
    progress(p, 1.0, 1.0);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_zip_decompress(const nexttok_model *model, const nexttok_tokenizer *tokenizer,
                                                  const nexttok_zip_params *params, const void *in, size_t in_len,
                                                  void *out, size_t out_cap, size_t *out_len)
{
    nt_error_clear();
    nexttok_zip_params p;
    nexttok_tokenizer *own;
    nexttok_status st = enter("nexttok_zip_decompress", model, &tokenizer, &own, params, &p, in, in_len, out, out_cap,
                              out_len);
    if (st == NEXTTOK_OK) {
        size_t need = 0, written = 0;
        st = decompress(model, tokenizer, &p, in, in_len, out, out_cap, &need, &written);
        if (st != NEXTTOK_OK && written) memset(out, 0, written);
        *out_len = need;
    }
    nexttok_tokenizer_free(own);
    return st;
}
