/* Snapshots: a session to bytes and back, bound to its model file.
 *
 * Layout (integers little-endian):
 *
 *   header, 160 bytes
 *     0  magic "\x89NTSNAP\n"     8  u32 version     12 u32 header bytes
 *    16  model digest[32]         48 i32 kv_type     52 i32 n_ctx
 *    56  i32 pos                  60 i32 precision   64 i32 n_batch
 *    68  i32 context_full         72 i32 n_keep      76 i32 n_discard
 *    80  i64 n_shifted            88 i32 n_vocab     92 i32 n_layer
 *    96  u32 flags (1: logits)   100 u32 zero       104 u64 payload bytes
 *   112  payload BLAKE2b-256[32] 144 header BLAKE2b-128[16] of bytes 0..143
 *   payload
 *     i32 tokens[pos]; f32 logits[n_vocab] when flagged;
 *     per layer, the rows of the positions it keeps (first..pos-1, first
 *     past a ring's wrap): their key rows, then their value rows.
 *
 * The magic ends in a newline and starts with a byte above 127 (as PNG's
 * does), so text-mode and 7-bit transfers show as a bad magic. */
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/params.h"
#include "forward/forward.h"
#include "kvcache/kvcache.h"
#include "session/session.h"

#define SNAP_HEADER 160
#define SNAP_HSUM 16
static const unsigned char snap_magic[8] = {0x89, 'N', 'T', 'S', 'N', 'A', 'P', '\n'};

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static void put64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

static uint32_t get32(const unsigned char *p)
{
    uint32_t v = 0;
    for (int i = 0; i < 4; i++) v |= (uint32_t)p[i] << (8 * i);
    return v;
}

static uint64_t get64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* The fields of a header, as written or as read. */
typedef struct snap_fields {
    int32_t kv_type, n_ctx, pos, precision, n_batch, context_full, n_keep, n_discard, n_vocab, n_layer;
    int64_t n_shifted;
    uint32_t flags;
    uint64_t payload;
} snap_fields;

/* Bytes of the payload of a session of `f`'s shape over model m (rows of
 * row_bytes each); 0 when they do not fit a size_t. */
static uint64_t payload_bytes(const nexttok_model *m, const snap_fields *f, size_t row_bytes)
{
    uint64_t n = (uint64_t)f->pos * 4 + (f->flags & 1 ? (uint64_t)f->n_vocab * 4 : 0);
    for (int l = 0; l < m->hp.n_layer; l++) {
        const int32_t rows = nt_kvcache_layer_rows(m->layer_windows, l, f->n_ctx, f->n_batch);
        const int32_t kept = f->pos < rows ? f->pos : rows;
        n += 2 * (uint64_t)kept * row_bytes;
    }
    return n > SIZE_MAX - SNAP_HEADER ? 0 : n;
}

static void hash(const unsigned char *p, size_t n, unsigned char *out, size_t out_len)
{
    crypto_generichash(out, out_len, p, n, NULL, 0);
}

static snap_fields session_fields(const nexttok_session *s)
{
    snap_fields f = {
        .kv_type = s->kv_type, .n_ctx = s->n_ctx, .pos = s->pos, .precision = s->precision,
        .n_batch = s->run->batch, .context_full = s->context_full, .n_keep = s->n_keep, .n_discard = s->n_discard,
        .n_vocab = s->model->hp.n_vocab, .n_layer = s->model->hp.n_layer, .n_shifted = s->n_shifted,
        .flags = s->has_logits ? 1u : 0u,
    };
    f.payload = payload_bytes(s->model, &f, s->kv.row_bytes);
    return f;
}

/* The payload of s into p (f.payload bytes). */
static void payload_write(const nexttok_session *s, unsigned char *p)
{
    for (int32_t i = 0; i < s->pos; i++, p += 4) put32(p, (uint32_t)s->tokens[i]);
    if (s->has_logits) {
        const size_t n = (size_t)s->model->hp.n_vocab * sizeof *s->logits;
        memcpy(p, s->logits, n);
        p += n;
    }
    const size_t rb = s->kv.row_bytes;
    for (int l = 0; l < s->kv.n_layer; l++) {
        const int32_t first = nt_kv_first_kept(&s->kv, l, s->pos);
        for (int32_t j = first; j < s->pos; j++, p += rb) memcpy(p, nt_kv_k_row(&s->view, l, j), rb);
        for (int32_t j = first; j < s->pos; j++, p += rb) memcpy(p, nt_kv_v_row(&s->view, l, j), rb);
    }
}

NEXTTOK_API nexttok_status nexttok_session_snapshot_write(const nexttok_session *s, void *buf, size_t capacity,
                                                          size_t *size_out)
{
    nt_error_clear();
    if (size_out) *size_out = 0;
    if (!s || !size_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_snapshot_write: session and size_out must not be NULL");
    const snap_fields f = session_fields(s);
    if (f.payload == 0 && s->pos > 0)
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "a snapshot of %d positions does not fit in memory", s->pos);
    const size_t size = SNAP_HEADER + (size_t)f.payload;
    *size_out = size;
    if (!buf) return NEXTTOK_OK;
    if (capacity < size)
        return nt_fail(NEXTTOK_ERR_BUFFER_TOO_SMALL, "snapshot needs %zu bytes, the buffer holds %zu", size, capacity);
    if (sodium_init() < 0) return nt_fail(NEXTTOK_ERR_IO, "libsodium failed to initialise");
    unsigned char *h = buf;
    memset(h, 0, SNAP_HEADER);
    memcpy(h, snap_magic, sizeof snap_magic);
    put32(h + 8, NEXTTOK_SNAPSHOT_VERSION);
    put32(h + 12, SNAP_HEADER);
    nexttok_status st = nt_model_digest(s->model, h + 16);
    if (st != NEXTTOK_OK) return st;
    const int32_t ints[] = {f.kv_type, f.n_ctx, f.pos, f.precision, f.n_batch, f.context_full, f.n_keep, f.n_discard};
    for (int i = 0; i < 8; i++) put32(h + 48 + 4 * i, (uint32_t)ints[i]);
    put64(h + 80, (uint64_t)f.n_shifted);
    put32(h + 88, (uint32_t)f.n_vocab);
    put32(h + 92, (uint32_t)f.n_layer);
    put32(h + 96, f.flags);
    put64(h + 104, f.payload);
    payload_write(s, h + SNAP_HEADER);
    hash(h + SNAP_HEADER, (size_t)f.payload, h + 112, 32);
    hash(h, SNAP_HEADER - SNAP_HSUM, h + SNAP_HEADER - SNAP_HSUM, SNAP_HSUM);
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_snapshot_save(const nexttok_session *s, const char *path)
{
    nt_error_clear();
    if (!s || !path)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_snapshot_save: session and path must not be NULL");
    size_t size = 0;
    nexttok_status st = nexttok_session_snapshot_write(s, NULL, 0, &size);
    if (st != NEXTTOK_OK) return st;
    unsigned char *buf = nt_malloc(size);
    if (!buf) return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for a snapshot of %zu bytes", size);
    st = nexttok_session_snapshot_write(s, buf, size, &size);
    if (st == NEXTTOK_OK) {
        FILE *fp = fopen(path, "wb");
        const bool ok = fp && fwrite(buf, 1, size, fp) == size;
        if (fp && fclose(fp) != 0) st = nt_fail(NEXTTOK_ERR_IO, "cannot write snapshot '%s'", path);
        else if (!ok) st = nt_fail(NEXTTOK_ERR_IO, "cannot write snapshot '%s'", path);
        if (st != NEXTTOK_OK && fp) remove(path);
    }
    nt_free(buf);
    return st;
}

static void hex8(const unsigned char *d, char *out)
{
    for (int i = 0; i < 8; i++) sprintf(out + 2 * i, "%02x", d[i]);
}

/* The header's checks, in the order that names the most basic problem:
 * is it a snapshot, of this version, intact, of this model, possible. */
static nexttok_status header_read(const nexttok_model *m, const unsigned char *h, size_t size, snap_fields *f)
{
    if (size < sizeof snap_magic)
        return nt_fail(NEXTTOK_ERR_TRUNCATED, "snapshot truncated: %zu bytes, shorter than its magic", size);
    if (memcmp(h, snap_magic, sizeof snap_magic) != 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "not a nexttok snapshot (bad magic)");
    if (size < 12) return nt_fail(NEXTTOK_ERR_TRUNCATED, "snapshot truncated: %zu bytes, shorter than its version", size);
    const uint32_t version = get32(h + 8);
    if (version != NEXTTOK_SNAPSHOT_VERSION)
        return nt_fail(NEXTTOK_ERR_UNSUPPORTED, "snapshot format version %u: this library reads version %d", version,
                       NEXTTOK_SNAPSHOT_VERSION);
    if (size < SNAP_HEADER)
        return nt_fail(NEXTTOK_ERR_TRUNCATED, "snapshot truncated: %zu bytes, shorter than its %d-byte header", size,
                       SNAP_HEADER);
    unsigned char sum[SNAP_HSUM];
    hash(h, SNAP_HEADER - SNAP_HSUM, sum, SNAP_HSUM);
    if (sodium_memcmp(sum, h + SNAP_HEADER - SNAP_HSUM, SNAP_HSUM) != 0)
        return nt_fail(NEXTTOK_ERR_CHECKSUM, "snapshot header corrupted (its checksum does not match)");
    if (get32(h + 12) != SNAP_HEADER)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot header of %u bytes, version %d has %d", get32(h + 12),
                       NEXTTOK_SNAPSHOT_VERSION, SNAP_HEADER);
    uint8_t digest[NEXTTOK_DIGEST_BYTES];
    nexttok_status st = nt_model_digest(m, digest);
    if (st != NEXTTOK_OK) return st;
    if (sodium_memcmp(digest, h + 16, NEXTTOK_DIGEST_BYTES) != 0) {
        char a[17], b[17];
        hex8(h + 16, a);
        hex8(digest, b);
        return nt_fail(NEXTTOK_ERR_MODEL_MISMATCH, "snapshot made with another model (digest %s..., this model's %s...)",
                       a, b);
    }
    int32_t v[8];
    for (int i = 0; i < 8; i++) v[i] = (int32_t)get32(h + 48 + 4 * i);
    *f = (snap_fields){.kv_type = v[0], .n_ctx = v[1], .pos = v[2], .precision = v[3], .n_batch = v[4],
                       .context_full = v[5], .n_keep = v[6], .n_discard = v[7], .n_shifted = (int64_t)get64(h + 80),
                       .n_vocab = (int32_t)get32(h + 88), .n_layer = (int32_t)get32(h + 92), .flags = get32(h + 96),
                       .payload = get64(h + 104)};
    const nt_hparams *hp = &m->hp;
    /* a header that passed its checksum may still be forged: every field
     * is checked before anything is allocated from it */
    if (f->n_ctx < 1 || f->n_ctx > hp->n_ctx_train)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot context of %d positions: the model's is [1, %d]", f->n_ctx,
                       hp->n_ctx_train);
    if (f->pos < 0 || f->pos > f->n_ctx)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot claims %d tokens, more than its context of %d", f->pos, f->n_ctx);
    if (f->n_vocab != hp->n_vocab || f->n_layer != hp->n_layer)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot of %d tokens x %d layers, the model has %d x %d", f->n_vocab,
                       f->n_layer, hp->n_vocab, hp->n_layer);
    bool kv_ok;
    nt_kv_type_from_public(f->kv_type, &kv_ok);
    if (!kv_ok) return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot KV type %d is not a nexttok_kv_type", f->kv_type);
    if (f->precision != NEXTTOK_PRECISION_FAST && f->precision != NEXTTOK_PRECISION_EXACT)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot precision %d is not FAST or EXACT", f->precision);
    if (f->n_batch < 1 || f->n_batch > NT_BATCH || f->n_batch > f->n_ctx)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot batch %d outside [1, %d]", f->n_batch,
                       f->n_ctx < NT_BATCH ? f->n_ctx : NT_BATCH);
    if (f->context_full != NEXTTOK_CONTEXT_ERROR && f->context_full != NEXTTOK_CONTEXT_SHIFT)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot context_full %d is not a nexttok_context_full", f->context_full);
    if ((f->flags & ~1u) != 0 || get32(h + 100) != 0 || ((f->flags & 1) && f->pos == 0) || f->n_shifted < 0)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot flags %#x or reserved fields are not valid", f->flags);
    return NEXTTOK_OK;
}

/* Fill a fresh session from a payload the checksum vouched for. */
static nexttok_status payload_read(nexttok_session *s, const unsigned char *p)
{
    const int32_t pos = s->pos;
    for (int32_t i = 0; i < pos; i++, p += 4) s->tokens[i] = (int32_t)get32(p);
    nexttok_status st = nt_session_tokens_check(s, s->tokens, (size_t)pos);
    if (st != NEXTTOK_OK) return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot tokens: %s", nexttok_error_message());
    if (s->has_logits) {
        const size_t n = (size_t)s->model->hp.n_vocab * sizeof *s->logits;
        memcpy(s->logits, p, n);
        p += n;
    }
    st = pos > 0 ? nt_kv_prepare(&s->kv, 0, pos) : NEXTTOK_OK;
    if (st != NEXTTOK_OK) return st;
    const size_t rb = s->kv.row_bytes;
    for (int l = 0; l < s->kv.n_layer; l++) {
        const int32_t first = nt_kv_first_kept(&s->kv, l, pos);
        for (int32_t j = first; j < pos; j++, p += rb) memcpy(nt_kv_k_row(&s->view, l, j), p, rb);
        for (int32_t j = first; j < pos; j++, p += rb) memcpy(nt_kv_v_row(&s->view, l, j), p, rb);
    }
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_restore(const nexttok_model *m, const void *buf, size_t size,
                                                   const nexttok_session_params *params,
                                                   nexttok_session **session_out)
{
    nt_error_clear();
    if (session_out) *session_out = NULL;
    if (!m || (!buf && size) || !session_out)
        return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_restore: model, buf and session_out must not be NULL");
    if (!m->runnable)
        return nt_fail(NEXTTOK_ERR_STATE, "nexttok_session_restore: the model was opened metadata-only and cannot run");
    if (sodium_init() < 0) return nt_fail(NEXTTOK_ERR_IO, "libsodium failed to initialise");
    const unsigned char *h = buf;
    snap_fields f = {0};
    nexttok_status st = header_read(m, h, size, &f);
    if (st != NEXTTOK_OK) return st;

    bool kv_ok;
    const uint32_t type = nt_kv_type_from_public(f.kv_type, &kv_ok);
    const size_t row_bytes = nt_kvcache_bytes_per_pos(type, 1, m->hp.n_head_kv, m->hp.head_dim) / 2;
    const uint64_t want = payload_bytes(m, &f, row_bytes);
    if (row_bytes == 0 || want != f.payload)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot payload of %llu bytes, its fields make %llu",
                       (unsigned long long)f.payload, (unsigned long long)want);
    if (size - SNAP_HEADER < want)
        return nt_fail(NEXTTOK_ERR_TRUNCATED, "snapshot truncated: %zu bytes, its header says %llu", size,
                       (unsigned long long)(SNAP_HEADER + want));
    if (size - SNAP_HEADER > want)
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot of %zu bytes has %llu bytes after its payload", size,
                       (unsigned long long)(size - SNAP_HEADER - want));
    unsigned char sum[32];
    hash(h + SNAP_HEADER, (size_t)want, sum, sizeof sum);
    if (sodium_memcmp(sum, h + 112, sizeof sum) != 0)
        return nt_fail(NEXTTOK_ERR_CHECKSUM, "snapshot payload corrupted (its checksum does not match)");

    nexttok_session_params p;
    nexttok_session_params_init(&p, sizeof p);
    if (params) {
        st = nt_params_merge(&p, sizeof p, params, "nexttok_session_restore");
        if (st != NEXTTOK_OK) return st;
    }
    const nexttok_session_params q = {
        .struct_size = sizeof q, .n_ctx = f.n_ctx, .n_threads = p.n_threads, .pool = p.pool,
        .precision = f.precision, .kv_type = f.kv_type, .n_batch = f.n_batch, .context_full = f.context_full,
        .n_keep = f.n_keep, .n_discard = f.n_discard,
    };
    nexttok_session *s = NULL;
    st = nexttok_session_create(m, &q, &s);
    if (st != NEXTTOK_OK) return st;
    s->pos = f.pos;
    s->n_shifted = f.n_shifted;
    s->has_logits = (f.flags & 1) != 0;
    if (s->run->batch != f.n_batch || s->kv.row_bytes != row_bytes) {
        nexttok_session_free(s);
        return nt_fail(NEXTTOK_ERR_FORMAT, "snapshot batch %d does not make a session of its shape", f.n_batch);
    }
    st = payload_read(s, h + SNAP_HEADER);
    if (st != NEXTTOK_OK) {
        nexttok_session_free(s);
        return st;
    }
    *session_out = s;
    return NEXTTOK_OK;
}

NEXTTOK_API nexttok_status nexttok_session_restore_file(const nexttok_model *m, const char *path,
                                                        const nexttok_session_params *params,
                                                        nexttok_session **session_out)
{
    nt_error_clear();
    if (session_out) *session_out = NULL;
    if (!path) return nt_fail(NEXTTOK_ERR_INVALID_ARGUMENT, "nexttok_session_restore_file: path must not be NULL");
    FILE *fp = fopen(path, "rb");
    if (!fp) return nt_fail(NEXTTOK_ERR_IO, "cannot open snapshot '%s'", path);
    long len = -1;
    if (fseek(fp, 0, SEEK_END) == 0) len = ftell(fp);
    if (len < 0 || fseek(fp, 0, SEEK_SET) != 0) {
        fclose(fp);
        return nt_fail(NEXTTOK_ERR_IO, "cannot read snapshot '%s'", path);
    }
    unsigned char *buf = nt_malloc(len > 0 ? (size_t)len : 1);
    if (!buf) {
        fclose(fp);
        return nt_fail(NEXTTOK_ERR_NO_MEMORY, "out of memory for snapshot '%s' (%ld bytes)", path, len);
    }
    const bool ok = fread(buf, 1, (size_t)len, fp) == (size_t)len;
    fclose(fp);
    nexttok_status st = ok ? nexttok_session_restore(m, buf, (size_t)len, params, session_out)
                           : nt_fail(NEXTTOK_ERR_IO, "cannot read snapshot '%s'", path);
    nt_free(buf);
    return st;
}
