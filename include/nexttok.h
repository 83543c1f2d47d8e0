/*
 * nexttok.h - the public API of libnexttok, an embeddable library for
 * next-token prediction with GGUF language models.
 *
 * This is the only header users include. Conventions:
 *  - Every symbol starts with `nexttok_` (types) or `NEXTTOK_` (macros,
 *    enumerators); names read noun first, verb last
 *    (nexttok_model_load, nexttok_session_feed).
 *  - Handles are opaque. Each one has an explicit create/load and free call;
 *    free accepts NULL.
 *  - Every fallible call returns an nexttok_status. On failure the calling
 *    thread's error message (nexttok_error_message) names the problem, and
 *    output handles are set to NULL: nothing is half-made.
 *  - Params and info structs carry their own size in `struct_size`, so the
 *    ABI can grow by appending fields. Fill a params struct with its
 *    *_params_init call, passing sizeof the struct, then change what you
 *    need; set an info struct's struct_size before the call that fills it.
 *    A newer library accepts an older caller's shorter struct (missing
 *    fields keep their defaults); an older library accepts a newer caller's
 *    longer struct as long as the fields it does not know are zero.
 *  - Token ids are int32_t; sizes and counts are size_t or int32_t.
 *
 * Thread safety: a model is immutable after load and may be shared by any
 * number of threads and sessions. A session, tokenizer decoder, sampler or
 * sampler chain is used by one thread at a time. Error messages are per
 * thread.
 */
#ifndef NEXTTOK_H
#define NEXTTOK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32)
#  define NEXTTOK_API
#elif defined(__GNUC__)
#  define NEXTTOK_API __attribute__((visibility("default")))
#else
#  define NEXTTOK_API
#endif

/*
 * On calls whose status must be looked at (the compiler warns when a
 * result is dropped). GCC and Clang only; empty elsewhere. With GCC even a
 * (void) cast warns, so test the status or keep it in a variable.
 */
#if defined(__GNUC__)
#  define NEXTTOK_NODISCARD __attribute__((warn_unused_result))
#else
#  define NEXTTOK_NODISCARD
#endif

/* ------------------------------------------------------------------------ */
/* Version                                                                  */
/* ------------------------------------------------------------------------ */

#define NEXTTOK_VERSION_MAJOR 0
#define NEXTTOK_VERSION_MINOR 1
#define NEXTTOK_VERSION_PATCH 0
/** The header's version as one number: major*10000 + minor*100 + patch. */
#define NEXTTOK_VERSION_NUMBER \
    (NEXTTOK_VERSION_MAJOR * 10000 + NEXTTOK_VERSION_MINOR * 100 + NEXTTOK_VERSION_PATCH)

/** The linked library's version as "major.minor.patch". */
NEXTTOK_API const char *nexttok_version_string(void);
/** The linked library's version number (see NEXTTOK_VERSION_NUMBER). */
NEXTTOK_API unsigned nexttok_version_number(void);

/**
 * The instruction set the kernels run with on this machine: "avx512",
 * "avx2", "neon" or "scalar" (chosen at run time from the CPU's features;
 * the environment variable NEXTTOK_ISA may pick a lower one).
 */
NEXTTOK_API const char *nexttok_isa_name_get(void);

/* ------------------------------------------------------------------------ */
/* Status codes and errors                                                  */
/* ------------------------------------------------------------------------ */

/*
 * Every status code, once: X(name, value, description) with the value kept
 * stable across versions and the fixed text nexttok_status_describe
 * returns. The enum below and the library's descriptions are both made
 * from this list, so they cannot drift apart; bindings can be checked
 * against it.
 */
#define NEXTTOK_STATUS_LIST(X)                                                  \
    X(NEXTTOK_OK, 0, "ok")                                                      \
      /* success */                                                             \
    X(NEXTTOK_ERR_INVALID_ARGUMENT, 1, "invalid argument")                      \
      /* NULL handle, bad size, bad value */                                    \
    X(NEXTTOK_ERR_IO, 2, "input/output error")                                  \
      /* open/stat/mmap/read/write failed */                                    \
    X(NEXTTOK_ERR_NO_MEMORY, 3, "out of memory")                                \
      /* allocation failed */                                                   \
    X(NEXTTOK_ERR_FORMAT, 4, "malformed file")                                  \
      /* malformed file or metadata */                                          \
    X(NEXTTOK_ERR_UNSUPPORTED, 5, "unsupported")                                \
      /* architecture, weight type, version */                                  \
    X(NEXTTOK_ERR_CONTEXT_FULL, 6, "context full")                              \
      /* feeding past the session's context */                                  \
    X(NEXTTOK_ERR_TOKEN_RANGE, 7, "token id out of range")                      \
      /* a token id outside the vocabulary */                                   \
    X(NEXTTOK_ERR_CHECKSUM, 8, "checksum mismatch")                             \
      /* digest mismatch */                                                     \
    X(NEXTTOK_ERR_CANCELLED, 9, "cancelled")                                    \
      /* a callback asked to stop */                                            \
    X(NEXTTOK_ERR_BUFFER_TOO_SMALL, 10, "buffer too small")                     \
      /* caller buffer too small; see call */                                   \
    X(NEXTTOK_ERR_STATE, 11, "invalid state")                                   \
      /* call not valid in this state */                                        \
    X(NEXTTOK_ERR_NOT_FOUND, 12, "not found")                                   \
      /* named item does not exist */                                           \
    X(NEXTTOK_ERR_MODEL_MISMATCH, 13, "made with another model")                \
      /* data made with another model (snapshot, zip) */                        \
    X(NEXTTOK_ERR_DEADLINE, 14, "deadline passed")                              \
      /* a time budget ran out; the call stopped early and can resume */        \
    X(NEXTTOK_ERR_TRUNCATED, 15, "truncated")                                   \
      /* input ends before its header says it does */

#define NEXTTOK_STATUS_ENUMERATOR_(name, value, description) name = value,
typedef enum nexttok_status { NEXTTOK_STATUS_LIST(NEXTTOK_STATUS_ENUMERATOR_) } nexttok_status;
#undef NEXTTOK_STATUS_ENUMERATOR_

/** A short fixed description of a status code ("context full", ...). */
NEXTTOK_API const char *nexttok_status_describe(nexttok_status status);

/**
 * The message of the last failed call on this thread, naming the problem
 * (e.g. "tensor blk.3.attn_q.weight: expected 4096x4096, got 4096x1024").
 * Empty string when the last call succeeded. Valid until the next call into
 * the library on this thread.
 */
NEXTTOK_API const char *nexttok_error_message(void);

/* ------------------------------------------------------------------------ */
/* Models                                                                   */
/* ------------------------------------------------------------------------ */

typedef struct nexttok_model nexttok_model;

/**
 * Load-progress callback: `fraction` goes from 0 to 1. Return 0 to continue,
 * non-zero to cancel the load (nexttok_model_load then returns
 * NEXTTOK_ERR_CANCELLED).
 */
typedef int (*nexttok_progress_fn)(float fraction, void *user_data);

typedef struct nexttok_model_params {
    size_t struct_size;            /* sizeof(nexttok_model_params) */
    nexttok_progress_fn progress;  /* may be NULL */
    void *progress_user_data;
    /* Non-zero: read the file's metadata and tensor table only, without
     * binding weights to an architecture. Any well-formed GGUF opens this
     * way (vocabulary-only files, architectures or weight types the library
     * cannot run): inspection, digests and tokenizers work, sessions do
     * not (nexttok_session_create returns NEXTTOK_ERR_STATE). */
    int32_t metadata_only;
} nexttok_model_params;

/** Fill `params` (struct_size = sizeof *params) with defaults. */
NEXTTOK_API void nexttok_model_params_init(nexttok_model_params *params, size_t struct_size);

/**
 * Load a GGUF model from `path` (memory-mapped; weights are used in place).
 * `params` may be NULL for defaults. On success *model_out is a new model to
 * release with nexttok_model_free; on failure it is NULL.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_load(const char *path,
                                              const nexttok_model_params *params,
                                              nexttok_model **model_out);

/** Release a model. Every session of it must be freed first. NULL is fine. */
NEXTTOK_API void nexttok_model_free(nexttok_model *model);

typedef struct nexttok_model_info {
    size_t struct_size;        /* sizeof(nexttok_model_info), set by caller */
    const char *architecture;  /* "gpt2", "llama", "qwen2", ... (general.architecture as
                                  written, for a metadata-only load); owned
                                  by the model */
    const char *name;          /* general.name or "" ; owned by the model */
    int32_t n_vocab;
    int32_t n_ctx_train;       /* trained context length */
    int32_t n_embd;
    int32_t n_layer;
    int32_t n_head;
    int32_t n_head_kv;
    int32_t n_ff;
    uint32_t gguf_version;
    uint64_t n_params;         /* number of weights over all tensors */
    uint64_t file_size;        /* bytes */
    int32_t runnable;          /* 1 when sessions can run the model; 0 after
                                  a metadata-only load. Hyper-parameters are
                                  0 where the file does not give them. */
    int32_t head_dim;          /* values per attention head (attention.key_length,
                                  else n_embd / n_head); 0 after a metadata-only load */
    const char *features;      /* what the architecture does, comma-separated, e.g.
                                  "rmsnorm, rope-neox, gqa 14/2, qkv bias, swiglu,
                                  tied output"; "" after a metadata-only load;
                                  owned by the model */
} nexttok_model_info;

/** Fill `info` (whose struct_size the caller sets) with the model's facts. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_info_get(const nexttok_model *model,
                                                  nexttok_model_info *info);

/** Shorthands for the most used facts; 0 / "" for a NULL model. */
NEXTTOK_API const char *nexttok_model_architecture_get(const nexttok_model *model);
NEXTTOK_API int32_t nexttok_model_n_vocab_get(const nexttok_model *model);
NEXTTOK_API int32_t nexttok_model_n_ctx_train_get(const nexttok_model *model);
NEXTTOK_API int32_t nexttok_model_n_embd_get(const nexttok_model *model);

/* --- tensors and metadata, for inspection -------------------------------- */

typedef struct nexttok_tensor_info {
    size_t struct_size;        /* sizeof(nexttok_tensor_info), set by caller */
    const char *name;          /* owned by the model */
    const char *type_name;     /* "F32", "F16", "BF16", "Q8_0", ... */
    uint32_t n_dims;
    int64_t dims[4];           /* dims[0] is the contiguous one (GGUF order) */
    uint64_t offset;           /* byte offset of the data in the file */
    uint64_t n_bytes;
} nexttok_tensor_info;

/** Number of tensors in the model file. */
NEXTTOK_API size_t nexttok_model_tensor_count_get(const nexttok_model *model);
/** Facts of tensor `index` (0-based, in file order). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_tensor_info_get(const nexttok_model *model,
                                                         size_t index,
                                                         nexttok_tensor_info *info);

/** Number of metadata key/value pairs in the model file. */
NEXTTOK_API size_t nexttok_model_meta_count_get(const nexttok_model *model);
/**
 * Key and a printable rendering of metadata entry `index`. Arrays render as
 * "[type; n]" with their first elements. Writes NUL-terminated text into
 * the caller's buffers (truncated to fit).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_meta_get(const nexttok_model *model, size_t index,
                                                  char *key, size_t key_size,
                                                  char *value, size_t value_size);

/* --- checksums (BLAKE2b-256, libsodium) ----------------------------------- */

#define NEXTTOK_DIGEST_BYTES 32

/** BLAKE2b-256 of the whole model file, as mapped now. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_digest_get(const nexttok_model *model,
                                                    uint8_t digest[NEXTTOK_DIGEST_BYTES]);
/** BLAKE2b-256 of tensor `index`'s data bytes. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_tensor_digest_get(const nexttok_model *model,
                                                           size_t index,
                                                           uint8_t digest[NEXTTOK_DIGEST_BYTES]);
/**
 * Hash the whole file and compare with `expected`. Returns NEXTTOK_OK on a
 * match, NEXTTOK_ERR_CHECKSUM (message gives both digests in hex) otherwise.
 * Any flipped bit anywhere in the file is detected. When the file has been
 * truncated since it was loaded, returns NEXTTOK_ERR_TRUNCATED without
 * touching the mapping (as do the digest calls above); see docs/security.md.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_model_verify(const nexttok_model *model,
                                                const uint8_t expected[NEXTTOK_DIGEST_BYTES]);

/* ------------------------------------------------------------------------ */
/* Thread pools: threads that sessions share                                */
/* ------------------------------------------------------------------------ */

typedef struct nexttok_pool nexttok_pool;

/**
 * Create a pool of `n_threads` threads (0 = one per online core; the calling
 * thread of a forward pass is one of them). Sessions given the pool in
 * nexttok_session_params.pool run their products on it instead of on
 * threads of their own, so many sessions (NPCs, say) do not oversubscribe
 * the cores. Sessions on one pool may be fed from different threads at
 * once: their products take turns on the pool's threads.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_pool_create(int32_t n_threads, nexttok_pool **pool_out);

/** Release a pool. Every session using it must be freed first. NULL is fine. */
NEXTTOK_API void nexttok_pool_free(nexttok_pool *pool);

/** Threads of a pool, the caller's included (0 for NULL). */
NEXTTOK_API int32_t nexttok_pool_n_threads_get(const nexttok_pool *pool);

/* ------------------------------------------------------------------------ */
/* Sessions: one conversation, its KV cache and position                    */
/* ------------------------------------------------------------------------ */

typedef struct nexttok_session nexttok_session;

/** How products with quantized weights run. */
typedef enum nexttok_precision {
    /** Fast for models with quantized weights, exact for float models. */
    NEXTTOK_PRECISION_DEFAULT = 0,
    /** Activations quantized to 8 bits per block and integer dot products,
     * as llama.cpp does: the fastest path, with logits within llama.cpp's
     * own distance of a float64 reference. Float weights run exact. */
    NEXTTOK_PRECISION_FAST = 1,
    /** F32 activations times weights decoded exactly: logits within about
     * 1e-6 of a float64 pass over the dequantized weights. */
    NEXTTOK_PRECISION_EXACT = 2,
    /** EXACT's arithmetic with the scalar kernels (a fixed order of every
     * sum, no FMA) and the library's own exp, sin, cos and tanh, whatever
     * the CPU: logits bit-identical on every machine and ISA (x86 with or
     * without AVX2/AVX-512, ARM with NEON), at the speed of the scalar
     * kernels (the activation functions' vector code, which gives their
     * scalar bits, runs here too). nexttok_zip_compress runs its model
     * this way. */
    NEXTTOK_PRECISION_PORTABLE = 3,
} nexttok_precision;

/** The type of the KV cache's rows. */
typedef enum nexttok_kv_type {
    NEXTTOK_KV_F32 = 0,  /** 4 bytes a value: exact (the default) */
    NEXTTOK_KV_F16 = 1,  /** 2 bytes a value (llama.cpp's default) */
    NEXTTOK_KV_Q8_0 = 2, /** 34 bytes per 32 values; needs head sizes divisible by 32 */
} nexttok_kv_type;

/**
 * What a feed that would pass the session's context does.
 *
 * NEXTTOK_CONTEXT_SHIFT keeps the first n_keep tokens, drops the n_discard
 * oldest after them (0: half of the rest), moves the rest down and turns
 * their cached keys back by the dropped count (RoPE is a rotation by the
 * position, so this is exact up to float rounding), then feeds on; it
 * shifts as often as needed, even within one feed. The kept tokens' cached
 * rows still carry what they saw of the dropped ones, so logits after a
 * shift DIFFER from a fresh session fed only the kept tokens (the first
 * layer's keys agree with it within rounding; later layers do not). Models
 * with learned absolute positions (GPT-2) or sliding-window layers cannot
 * shift: nexttok_session_create refuses the policy for them
 * (NEXTTOK_ERR_UNSUPPORTED).
 */
typedef enum nexttok_context_full {
    NEXTTOK_CONTEXT_ERROR = 0, /** NEXTTOK_ERR_CONTEXT_FULL, nothing fed (the default) */
    NEXTTOK_CONTEXT_SHIFT = 1, /** drop old tokens and go on */
} nexttok_context_full;

/** The default context when n_ctx is 0 and the model's is longer. */
#define NEXTTOK_DEFAULT_N_CTX 4096

typedef struct nexttok_session_params {
    size_t struct_size;   /* sizeof(nexttok_session_params) */
    int32_t n_ctx;        /* positions in the KV cache; 0 = the model's
                             trained context, at most NEXTTOK_DEFAULT_N_CTX */
    int32_t n_threads;    /* threads for this session's forward pass; 0 = all
                             cores; ignored when `pool` is set */
    nexttok_pool *pool;   /* a shared pool (borrowed), or NULL: the session
                             makes its own of n_threads */
    int32_t precision;    /* a nexttok_precision */
    int32_t kv_type;      /* a nexttok_kv_type */
    int32_t n_batch;      /* tokens per forward call of a long feed, 1..512;
                             0 = 512 (at most n_ctx). Scratch grows with it
                             (~40 MB at 512 for a 1.1B model): sessions that
                             only decode (NPCs) can take 16 or 32 */
    int32_t context_full; /* a nexttok_context_full: what a feed past n_ctx does */
    int32_t n_keep;       /* NEXTTOK_CONTEXT_SHIFT: tokens at the start never
                             dropped (a system prompt), 0..n_ctx-1 */
    int32_t n_discard;    /* NEXTTOK_CONTEXT_SHIFT: tokens dropped per shift, the
                             oldest after the n_keep; 0 = half of the rest */
} nexttok_session_params;

/** Fill `params` (struct_size = sizeof *params) with defaults. */
NEXTTOK_API void nexttok_session_params_init(nexttok_session_params *params, size_t struct_size);

/**
 * Create a session over `model` (which must outlive it). n_ctx larger than
 * the model's trained context is an error. `params` may be NULL.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_create(const nexttok_model *model,
                                                  const nexttok_session_params *params,
                                                  nexttok_session **session_out);

/** Release a session. NULL is fine. */
NEXTTOK_API void nexttok_session_free(nexttok_session *session);

/**
 * Feed `n_tokens` tokens (a batched prefill, or one token) after the current
 * position. If `logits_out` is not NULL it receives n_tokens rows of n_vocab
 * logits, row i after feeding tokens[0..i]; `logits_capacity` is its size in
 * floats and must be at least n_tokens * n_vocab
 * (NEXTTOK_ERR_BUFFER_TOO_SMALL otherwise). Pass NULL and 0 for the last
 * row only (nexttok_session_logits_get). All or nothing: when the tokens
 * would overflow the context (NEXTTOK_ERR_CONTEXT_FULL), one is outside
 * the vocabulary (NEXTTOK_ERR_TOKEN_RANGE) or logits_out is too small,
 * nothing is fed and the session stays as it was. nexttok_session_cancel from
 * another thread stops it part-way (NEXTTOK_ERR_CANCELLED; see
 * nexttok_session_feed_ex).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_feed(nexttok_session *session,
                                                const int32_t *tokens, size_t n_tokens,
                                                float *logits_out, size_t logits_capacity);

/**
 * The logits after the last fed token: *logits_out points at n_vocab floats
 * owned by the session, valid until the next feed, rewind or reset.
 * NEXTTOK_ERR_STATE when nothing has been fed.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_logits_get(const nexttok_session *session,
                                                      const float **logits_out);

/**
 * Probabilities of the next token: softmax(logits / temperature) into
 * `probs_out` (n_vocab floats). temperature 0 gives a one-hot arg-max
 * (lowest id on ties); negative or non-finite temperature is invalid.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_probs_get(const nexttok_session *session,
                                                     float temperature,
                                                     float *probs_out, size_t n_probs);

typedef struct nexttok_token_prob {
    int32_t id;
    float prob;
} nexttok_token_prob;

/**
 * The k most probable next tokens at `temperature` (as in
 * nexttok_session_probs_get), most probable first, ties by lower id.
 * Writes min(k, n_vocab) entries and their count to *n_out.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_topk_get(const nexttok_session *session,
                                                    float temperature, size_t k,
                                                    nexttok_token_prob *out, size_t *n_out);

/** Number of tokens fed so far (the next token's position). */
NEXTTOK_API int32_t nexttok_session_position_get(const nexttok_session *session);
/** What a session is and holds, for tools and memory budgets. */
typedef struct nexttok_session_info {
    size_t struct_size;     /* sizeof(nexttok_session_info), set by caller */
    int32_t n_ctx;          /* KV cache positions */
    int32_t n_threads;      /* threads of its pool, the caller's included */
    int32_t precision;      /* NEXTTOK_PRECISION_FAST, _EXACT or _PORTABLE, as resolved */
    int32_t kv_type;        /* a nexttok_kv_type */
    uint64_t kv_bytes;      /* the KV cache as allocated: n_ctx positions of each
                               layer, or a sliding-window layer's ring of
                               window + batch - 1 positions */
    uint64_t kv_bytes_per_pos; /* keys and values of one position in every
                                  layer (its cost without sliding windows) */
    uint64_t scratch_bytes; /* the forward pass's working memory, history, logits */
    uint64_t kv_bytes_held;   /* KV pages the session holds now: pages of 32
                                 positions are allocated on first write */
    uint64_t kv_bytes_shared; /* of those, pages shared with a fork or its
                                 source (copy-on-write: copied before a write) */
    int64_t n_shifted;        /* tokens dropped by context shifts so far */
    int32_t context_full;     /* its nexttok_context_full policy */
} nexttok_session_info;

/** Fill `info` (whose struct_size the caller sets) with the session's facts. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_info_get(const nexttok_session *session,
                                                    nexttok_session_info *info);

/** The session's context length (KV cache positions). */
NEXTTOK_API int32_t nexttok_session_n_ctx_get(const nexttok_session *session);

/**
 * Go back to position `n_pos` (0 <= n_pos <= position): tokens after it are
 * forgotten. Logits are those after token n_pos-1 again (none when 0).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_rewind(nexttok_session *session, int32_t n_pos);

/** Forget everything: same as rewinding to 0. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_reset(nexttok_session *session);

/* ------------------------------------------------------------------------ */
/* Many sessions at once, time budgets and cancel                           */
/* ------------------------------------------------------------------------ */

/**
 * Feed tokens[i] to sessions[i] for each of n_sessions sessions of one model
 * in one forward pass, so each weight row is read once for all of them
 * (batched decode of many conversations). Sessions may be at different
 * positions. Each session's logits are bitwise those of feeding it its
 * token alone with nexttok_session_feed, whichever sessions share the batch.
 * If `logits_out` is not NULL it receives n_sessions rows of n_vocab
 * logits, row i for sessions[i] (`logits_capacity` floats, at least
 * n_sessions * n_vocab, else NEXTTOK_ERR_BUFFER_TOO_SMALL; NULL and 0 for
 * none); each session's own logits (nexttok_session_logits_get) are set
 * either way.
 *
 * The pass borrows the run state (scratch, thread pool) of the session with
 * the largest n_ctx (the first such): that session's pool does the work and
 * more sessions than its n_batch go in several passes. Without logits_out,
 * that session keeps a buffer of one logits row per session of the widest
 * batch it has hosted, allocated when a batch is wider than before: steady
 * decoding allocates nothing. The sessions must not be in use by another
 * thread during the call.
 *
 * All or nothing: NEXTTOK_ERR_INVALID_ARGUMENT (naming the index) for a
 * NULL session, a session listed twice, sessions over different models or
 * with different precision, kv_type, or n_ctx on different sides of a
 * LongRoPE model's original context; NEXTTOK_ERR_CONTEXT_FULL or
 * NEXTTOK_ERR_TOKEN_RANGE (naming the session) when one session is full or
 * its token is outside the vocabulary. Then no session is fed. A session's
 * interrupted feed (nexttok_session_feed_ex) is dropped by the call, as by
 * any other feed. n_sessions = 0 does nothing.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sessions_feed(nexttok_session *const *sessions,
                                                 const int32_t *tokens, size_t n_sessions,
                                                 float *logits_out, size_t logits_capacity);

/** Nanoseconds of the monotonic clock (CLOCK_MONOTONIC) that deadlines use. */
NEXTTOK_API int64_t nexttok_clock_ns(void);

/**
 * Polled on the feeding thread between steps of the forward pass (a product,
 * a layer's attention, a few row operations: many per layer); nonzero stops
 * the feed with NEXTTOK_ERR_CANCELLED.
 */
typedef int (*nexttok_feed_check_fn)(void *user_data);

typedef struct nexttok_feed_params {
    size_t struct_size;          /* sizeof(nexttok_feed_params) */
    int64_t deadline_ns;         /* stop at this nexttok_clock_ns() time; 0 = none */
    int64_t budget_ns;           /* stop this long after the call starts; 0 = none
                                    (with both, the earlier) */
    nexttok_feed_check_fn check; /* or NULL */
    void *user_data;             /* passed to check */
} nexttok_feed_params;

/** Fill `params` (struct_size = sizeof *params) with defaults: no limits. */
NEXTTOK_API void nexttok_feed_params_init(nexttok_feed_params *params, size_t struct_size);

/**
 * nexttok_session_feed with a time budget and a stop callback (`params` may
 * be NULL: no limits). The tokens go in chunks of the session's n_batch
 * (at most 128 with a deadline), each one forward pass; a pass checks the
 * deadline between parts of its steps (chunks of a product's rows, groups
 * of attention's tokens, parts of the row operations: norms, RoPE, the
 * activations), each sized to about a sixteenth of the budget at the rate
 * the session's parts ran at, so the call returns soon after the
 * deadline. Every call does at least one such part, however short its
 * budget. `*n_consumed_out` (may be NULL) receives the tokens fed: the
 * position moved by that many, and logits_out rows and the session's
 * logits are those of the last consumed token.
 *
 * Past the deadline the call returns NEXTTOK_ERR_DEADLINE with the tokens
 * of the finished chunks consumed; the chunk in progress stays half done in
 * the session. The next feed of the remaining tokens (tokens +
 * n_consumed, and logits_out + n_consumed * n_vocab when rows are wanted)
 * continues that pass where it stopped: the result is bitwise that of an
 * uninterrupted feed. Any other call that runs the session (a feed of other
 * tokens or other rows, a rewind, nexttok_sessions_feed) drops the half
 * done chunk, which the next feed then starts again, with the same result.
 *
 * Stopped by `check` or nexttok_session_cancel, the call returns
 * NEXTTOK_ERR_CANCELLED, leaving the session as after a deadline: at the
 * position of the consumed tokens, resumable the same way.
 * Otherwise as nexttok_session_feed (logits_capacity as there; all or
 * nothing on a full context, a token outside the vocabulary or a short
 * logits buffer).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_feed_ex(nexttok_session *session,
                                                   const int32_t *tokens, size_t n_tokens,
                                                   float *logits_out, size_t logits_capacity,
                                                   const nexttok_feed_params *params,
                                                   size_t *n_consumed_out);

/**
 * Ask the session's running feed (nexttok_session_feed, _feed_ex and the
 * scoring calls that feed it) to stop; callable from any thread. The feed
 * stops within one part of its pass (a fraction of a layer's time) and
 * returns NEXTTOK_ERR_CANCELLED, leaving the session at the position after
 * the last whole chunk it fed, its half-done chunk resumable as after a
 * deadline (see nexttok_session_feed_ex). When no feed is running, the next
 * feed of the session stops at its start: the request stays until a feed
 * returns NEXTTOK_ERR_CANCELLED. nexttok_sessions_feed does not stop.
 * NEXTTOK_ERR_INVALID_ARGUMENT for NULL; on success the calling thread's
 * error message is left as it was.
 */
NEXTTOK_API nexttok_status nexttok_session_cancel(nexttok_session *session);

/* --- forks and snapshots --------------------------------------------------- */

/**
 * A new session continuing from `src`'s position: the same tokens, logits
 * and cache, the cache shared copy-on-write (nothing of the prefix is
 * copied; the first write into a shared page of 32 positions copies that
 * page, at most one page per layer for a fork fed on from where it
 * started). Feeding the fork and its source the same tokens gives
 * bit-identical logits; neither sees the other's feeds. Either may be
 * freed first, and forks of one session may be fed on different threads
 * (while `src` itself is not being fed).
 *
 * `params` NULL: the source's threads (its borrowed pool, or an own pool of
 * as many threads), precision and context policy. Otherwise the fork takes
 * params' n_threads, pool, precision (DEFAULT: the source's), context
 * policy and n_batch (0: the source's; another only for models without
 * sliding-window layers, whose rings it sizes); n_ctx and kv_type are the
 * source's, and params must leave them at their defaults or give the
 * source's values (NEXTTOK_ERR_INVALID_ARGUMENT otherwise). A fork on a
 * shared pool with a small n_batch (decode only) costs its page table and
 * small scratch, no threads.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_fork(const nexttok_session *src,
                                                const nexttok_session_params *params,
                                                nexttok_session **fork_out);

/** Current version of the snapshot format nexttok_session_snapshot_write writes. */
#define NEXTTOK_SNAPSHOT_VERSION 1

/**
 * Snapshots: a session as bytes, to restore later in this or another
 * process with the same model file. A snapshot holds the tokens fed, the
 * last logits and the cache rows of positions 0 .. position-1 (a sliding
 * layer's kept rows only), so its size grows with the tokens used, not
 * with n_ctx: a header of 160 bytes, 4 bytes per token, 4 x n_vocab bytes
 * of logits, and kv_bytes_per_pos per cached position. The header carries
 * a magic, the format version, the model file's BLAKE2b digest, the KV
 * type, n_ctx and the position, and BLAKE2b checksums of itself and of
 * the payload. Integers are little-endian; rows are the cache's bytes.
 *
 * nexttok_session_snapshot_write with buf NULL (or capacity too small,
 * NEXTTOK_ERR_BUFFER_TOO_SMALL) stores the size needed in *size_out.
 * The model's digest is computed once per model (hashing the whole file
 * the first time).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_snapshot_write(const nexttok_session *session, void *buf,
                                                          size_t capacity, size_t *size_out);

/** Write a snapshot to the file `path` (replaced; NEXTTOK_ERR_IO on failure). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_snapshot_save(const nexttok_session *session, const char *path);

/**
 * Make a new session from a snapshot of `size` bytes. The snapshot gives
 * n_ctx, kv_type, precision, n_batch and the context policy; `params` (may
 * be NULL) gives only n_threads and pool. Refusals, each with a message
 * naming the problem, and no session made:
 * NEXTTOK_ERR_TRUNCATED (shorter than its header says),
 * NEXTTOK_ERR_FORMAT (not a snapshot: bad magic, impossible fields, such as
 * more tokens than its context or a context the model does not have),
 * NEXTTOK_ERR_UNSUPPORTED (another format version),
 * NEXTTOK_ERR_MODEL_MISMATCH (made with another model file),
 * NEXTTOK_ERR_CHECKSUM (header or payload corrupted). The next logits and
 * everything fed after are bit-identical to the original session's.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_restore(const nexttok_model *model, const void *buf, size_t size,
                                                   const nexttok_session_params *params,
                                                   nexttok_session **session_out);

/** nexttok_session_restore from the file `path` (NEXTTOK_ERR_IO when unreadable). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_restore_file(const nexttok_model *model, const char *path,
                                                        const nexttok_session_params *params,
                                                        nexttok_session **session_out);

/* ------------------------------------------------------------------------ */
/* Sampling                                                                 */
/* ------------------------------------------------------------------------ */

typedef struct nexttok_sampler nexttok_sampler;

typedef struct nexttok_sampler_params {
    size_t struct_size;   /* sizeof(nexttok_sampler_params) */
    float temperature;    /* 0 = greedy arg-max */
    int32_t top_k;        /* 0 = off */
    float top_p;          /* 1 = off */
    float min_p;          /* 0 = off */
    uint64_t seed;
} nexttok_sampler_params;

/** Fill `params` (struct_size = sizeof *params) with defaults:
 * temperature 1, filters off, seed 0. */
NEXTTOK_API void nexttok_sampler_params_init(nexttok_sampler_params *params, size_t struct_size);
/**
 * Create a sampler (its own random state): the default chain of `params`
 * (see nexttok_sampler_chain_default_create), made on the first draw, when
 * the vocabulary size is known; that first draw allocates, later ones of
 * the same vocabulary size do not. A session of another vocabulary size
 * gets a chain of its width that continues the same random sequence.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_create(const nexttok_sampler_params *params,
                                                  nexttok_sampler **sampler_out);
/** Release a sampler. NULL is fine. */
NEXTTOK_API void nexttok_sampler_free(nexttok_sampler *sampler);
/** Draw the next token from the session's current logits. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_sample(nexttok_sampler *sampler,
                                                  const nexttok_session *session,
                                                  int32_t *token_out);

/* --- sampler chains ------------------------------------------------------- */

/*
 * A sampler chain turns one row of logits into one token through stages
 * applied in the order they were added. The stages work on a candidates
 * array: (token id, logit) pairs, at first every token of the vocabulary.
 * A filtering stage changes logits or removes candidates; a selecting stage
 * (greedy or dist) picks the token and must come last. Wherever a stage
 * uses probabilities they are
 *
 *     p_i = exp(l_i - l_max) / sum_j exp(l_j - l_max)
 *
 * over the candidates still in the array (so after top-k the probabilities
 * are renormalized over the k kept, as in llama.cpp and Hugging Face),
 * computed in double. "Rank order" is higher logit first, lower token id
 * on ties; every tie anywhere is broken by the lower id.
 *
 * Stages (see each *_add call for the exact rule):
 *   temperature  logits divided by T (T = 0: only the arg-max remains)
 *   top-k        the k candidates first in rank order
 *   top-p        nucleus: the shortest rank-order prefix whose mass >= p
 *   min-p        candidates with p_i >= min_p * p_max
 *   typical-p    locally typical sampling (Meister et al. 2022)
 *   penalties    repetition / frequency / presence over a window of the
 *                last accepted tokens, as llama.cpp applies them
 *   logit bias   a fixed amount added to chosen tokens' logits
 *   mask         only the allowed tokens remain (updatable between draws)
 *   greedy       picks the arg-max (lowest id on ties)
 *   dist         draws from the p_i with the chain's generator
 *
 * Determinism: the generator is xoshiro256** (Blackman & Vigna) with its
 * state seeded by four outputs of splitmix64 from the 64-bit seed; a draw
 * takes the top 53 bits of one output as u in [0, 1). Everything runs on
 * the calling thread in a fixed order, so one seed, model, stages and
 * inputs give the same tokens on every run, platform and thread count
 * (sessions' logits are themselves bit-identical across thread counts).
 *
 * Memory: the chain and each stage allocate what they need when created
 * or added (per vocabulary entry: about 28 bytes for the chain, 4 more
 * for a penalties stage, 8 for a logit-bias stage, 1 bit for a mask); a
 * draw, accept, reset, mask or bias update allocates nothing.
 *
 * A chain is used by one thread at a time. It does not refer to any
 * session or model: it samples any row of n_vocab logits, e.g. each row of
 * a batched feed.
 */
typedef struct nexttok_sampler_chain nexttok_sampler_chain;

typedef struct nexttok_sampler_chain_params {
    size_t struct_size;   /* sizeof(nexttok_sampler_chain_params) */
    uint64_t seed;        /* the dist stage's generator; default 0 */
} nexttok_sampler_chain_params;

/** Fill `params` (struct_size = sizeof *params) with defaults: seed 0. */
NEXTTOK_API void nexttok_sampler_chain_params_init(nexttok_sampler_chain_params *params,
                                                   size_t struct_size);

/**
 * Create an empty chain for rows of `n_vocab` logits (n_vocab >= 1; use
 * nexttok_model_n_vocab_get). `params` may be NULL. Add stages, then draw.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_create(int32_t n_vocab,
                                                        const nexttok_sampler_chain_params *params,
                                                        nexttok_sampler_chain **chain_out);

/**
 * The chain that nexttok_sampler_params describe (the one nexttok_sampler
 * runs): temperature T, then top-k (if top_k > 0), top-p (if top_p < 1),
 * min-p (if min_p > 0), then dist seeded with params->seed; with T = 0,
 * only greedy. Temperature comes first as in Hugging Face's generate, so
 * the filters see the distribution at T. `params` may be NULL (defaults);
 * the same values as nexttok_sampler_create are refused.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_default_create(int32_t n_vocab,
                                                                const nexttok_sampler_params *params,
                                                                nexttok_sampler_chain **chain_out);

/** Release a chain. NULL is fine. */
NEXTTOK_API void nexttok_sampler_chain_free(nexttok_sampler_chain *chain);

/**
 * A deep copy: the same stages, generator state, penalty history and masks.
 * The copy continues exactly as the original would (same draws from the
 * same inputs); the two are independent afterwards.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_clone(const nexttok_sampler_chain *chain,
                                                       nexttok_sampler_chain **clone_out);

/**
 * Back to the state after the stages were added: the generator re-seeded
 * with the chain's seed and every penalty history emptied. Masks and logit
 * biases keep their current contents (they are the caller's settings, not
 * history).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_reset(nexttok_sampler_chain *chain);

/** Number of stages (0 for NULL). Stages are numbered from 0 in the order added. */
NEXTTOK_API int32_t nexttok_sampler_chain_n_stages_get(const nexttok_sampler_chain *chain);
/** The chain's row width (0 for NULL). */
NEXTTOK_API int32_t nexttok_sampler_chain_n_vocab_get(const nexttok_sampler_chain *chain);
/**
 * The name of stage `stage` ("temperature", "top-k", "top-p", "min-p",
 * "typical", "penalties", "logit-bias", "mask", "greedy", "dist"), or NULL
 * when there is no such stage.
 */
NEXTTOK_API const char *nexttok_sampler_chain_stage_name_get(const nexttok_sampler_chain *chain,
                                                             int32_t stage);

/*
 * Adding stages. Each call appends one stage; it fails with
 * NEXTTOK_ERR_INVALID_ARGUMENT (message naming the value) on a bad value and
 * with NEXTTOK_ERR_STATE once a selecting stage ends the chain. A failed call
 * leaves the chain as it was.
 */

/**
 * Temperature: every logit l becomes l / T (in float). T > 0 and finite;
 * T = 0 keeps only the first candidate in rank order (greedy at that
 * point, as llama.cpp does for T <= 0). Negative, NaN or infinite T is
 * refused.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_temperature_add(nexttok_sampler_chain *chain,
                                                                 float temperature);

/**
 * Top-k: keeps the first k candidates in rank order (all when k >= their
 * count). k >= 1; leave the stage out to keep everything.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_top_k_add(nexttok_sampler_chain *chain, int32_t k);

/**
 * Top-p (nucleus, Holtzman et al. 2020): in rank order, keeps the shortest
 * prefix whose probability sum (in double) reaches p: candidates are kept
 * up to and including the one where the running sum first becomes >= p, as
 * llama.cpp and Hugging Face do (at least one is always kept). p in (0, 1];
 * p = 1 keeps every candidate.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_top_p_add(nexttok_sampler_chain *chain, float p);

/**
 * Min-p (Nguyen et al. 2024): keeps the candidates whose probability is at
 * least min_p times the largest one, p_i >= min_p * p_max, computed as
 * exp(l_i - l_max) >= min_p in double (the same inequality without the
 * normalizing sum). min_p in [0, 1]; 0 keeps all, 1 keeps the candidates
 * tied with the best. Candidates keep their order.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_min_p_add(nexttok_sampler_chain *chain, float min_p);

/**
 * Typical-p (locally typical sampling, Meister et al. 2022, "Locally Typical
 * Sampling", as Hugging Face's TypicalLogitsWarper and llama.cpp's typical
 * sampler): with entropy H = -sum p_i ln p_i, each candidate scores
 * |-ln p_i - H|; in order of increasing score (lower id on ties), keeps the
 * shortest prefix whose probability sum reaches p (up to and including the
 * candidate where the running sum first becomes >= p; llama.cpp asks for
 * > p, which differs only on exact equality). p in (0, 1]; 1 keeps all.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_typical_add(nexttok_sampler_chain *chain, float p);

/**
 * Penalties over a window of the last `last_n` accepted tokens
 * (nexttok_sampler_chain_accept), as llama.cpp applies them: for each
 * candidate whose token occurs c > 0 times in the window, first the
 * repetition penalty (Keskar et al. 2019) divides a positive logit by
 * `repeat` and multiplies a zero or negative one by it, then
 *     l -= c * frequency + presence
 * (frequency counts every occurrence, presence once), in float. last_n >= 0
 * (0: the window holds nothing and the stage does nothing); repeat > 0 and
 * finite (1 = off); frequency and presence finite (0 = off; negative values
 * favour repeats). Each penalties stage keeps its own window.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_penalties_add(nexttok_sampler_chain *chain,
                                                               int32_t last_n, float repeat,
                                                               float frequency, float presence);

typedef struct nexttok_logit_bias {
    int32_t token;
    float bias;
} nexttok_logit_bias;

/**
 * Logit bias: adds `bias` to the logit of `token` for each of the n entries
 * (a token listed twice gets both). A bias of -INFINITY bans the token (the
 * candidate is removed); other biases must be finite, and tokens in the
 * vocabulary (NEXTTOK_ERR_TOKEN_RANGE otherwise). n = 0 is allowed (a stage
 * to fill later with nexttok_sampler_chain_logit_bias_set).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_logit_bias_add(nexttok_sampler_chain *chain,
                                                                const nexttok_logit_bias *biases,
                                                                size_t n);

/** Replace the entries of logit-bias stage `stage` (same rules as _add). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_logit_bias_set(nexttok_sampler_chain *chain,
                                                                int32_t stage,
                                                                const nexttok_logit_bias *biases,
                                                                size_t n);

/**
 * An allowed-token mask: only allowed tokens stay candidates, in their
 * order. Every token is allowed until the mask is set. A draw where no
 * candidate is left fails with NEXTTOK_ERR_STATE.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_mask_add(nexttok_sampler_chain *chain);

/**
 * Set mask stage `stage` from a bitset: token t is allowed when bit t % 64
 * of bits[t / 64] is 1. n_words must be (n_vocab + 63) / 64; bits beyond
 * n_vocab are ignored. bits = NULL (n_words 0) allows every token.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_mask_set(nexttok_sampler_chain *chain, int32_t stage,
                                                          const uint64_t *bits, size_t n_words);

/**
 * Set mask stage `stage` to allow exactly the n listed tokens (duplicates
 * are fine; n = 0 allows none). A token outside the vocabulary is
 * NEXTTOK_ERR_TOKEN_RANGE and leaves the mask as it was.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_mask_tokens_set(nexttok_sampler_chain *chain,
                                                                 int32_t stage,
                                                                 const int32_t *tokens, size_t n);

/** Greedy: picks the first candidate in rank order. Ends the chain. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_greedy_add(nexttok_sampler_chain *chain);

/**
 * Dist: one draw from the candidates' probabilities. With the candidates
 * in increasing token id order, weights w_i = exp(l_i - l_max) in double
 * and u the next number of the generator (top 53 bits of a xoshiro256**
 * output times 2^-53), it picks the first candidate whose running weight
 * sum exceeds u * sum(w). Ends the chain.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_dist_add(nexttok_sampler_chain *chain);

/*
 * Drawing. A draw runs every stage over a fresh candidates array and sets
 * *token_out (-1 when the draw fails). It does not add the token to the
 * penalties' history: call
 * nexttok_sampler_chain_accept for each token that enters the text (the
 * prompt's too, if it should count), so a caller can reject a draw or
 * force a token. A chain without a selecting stage is NEXTTOK_ERR_STATE.
 */

/** Draw a token from `session`'s current logits (nexttok_session_logits_get). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_sample(nexttok_sampler_chain *chain,
                                                        const nexttok_session *session,
                                                        int32_t *token_out);

/**
 * Draw a token from a row of `n_vocab` logits (which must be the chain's
 * n_vocab), e.g. a row of nexttok_session_feed's logits_out. NaN or +inf
 * logits are refused; a -inf logit is a token that cannot be drawn.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_logits_sample(nexttok_sampler_chain *chain,
                                                               const float *logits, size_t n_vocab,
                                                               int32_t *token_out);

/**
 * Record `token` in every penalties stage's window (the oldest entry leaves
 * a full window). NEXTTOK_ERR_TOKEN_RANGE outside the vocabulary.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_accept(nexttok_sampler_chain *chain, int32_t token);

/**
 * The candidates the last draw's selecting stage chose from, most probable
 * first (rank order), with their probabilities renormalized over them:
 * the distribution the token was drawn from, after every filter. Writes at
 * most `capacity` entries (the most probable ones) and the count into
 * *n_out; NEXTTOK_ERR_BUFFER_TOO_SMALL when that count exceeds capacity.
 * NEXTTOK_ERR_STATE before the first draw. Costs a sort of the candidates,
 * paid only by callers who ask.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_sampler_chain_candidates_get(nexttok_sampler_chain *chain,
                                                                nexttok_token_prob *out,
                                                                size_t capacity, size_t *n_out);

/* ------------------------------------------------------------------------ */
/* Tokenizers                                                               */
/* ------------------------------------------------------------------------ */

typedef struct nexttok_tokenizer nexttok_tokenizer;

/** Token types, as GGUF's tokenizer.ggml.token_type defines them. */
typedef enum nexttok_token_type {
    NEXTTOK_TOKEN_UNDEFINED = 0,
    NEXTTOK_TOKEN_NORMAL = 1,
    NEXTTOK_TOKEN_UNKNOWN = 2,
    NEXTTOK_TOKEN_CONTROL = 3,
    NEXTTOK_TOKEN_USER_DEFINED = 4,
    NEXTTOK_TOKEN_UNUSED = 5,
    NEXTTOK_TOKEN_BYTE = 6,
} nexttok_token_type;

/** Create the tokenizer described by a loaded model's metadata. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_tokenizer_create(const nexttok_model *model,
                                                    nexttok_tokenizer **tokenizer_out);
/** Load a tokenizer from a GGUF file (a vocabulary-only file works). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_tokenizer_load(const char *path,
                                                  nexttok_tokenizer **tokenizer_out);
/** Release a tokenizer. NULL is fine. */
NEXTTOK_API void nexttok_tokenizer_free(nexttok_tokenizer *tokenizer);

/** Flags for nexttok_tokenizer_encode. */
#define NEXTTOK_ENCODE_ADD_SPECIAL   1u /* add BOS/EOS as the vocabulary says */
#define NEXTTOK_ENCODE_PARSE_SPECIAL 2u /* turn special-token text into its id */

/**
 * Turn `len` bytes of UTF-8 `text` into token ids. Writes at most
 * `capacity` ids into `tokens` and the number needed into *n_tokens_out;
 * if that exceeds capacity the call returns NEXTTOK_ERR_BUFFER_TOO_SMALL
 * (call again with a larger buffer). Invalid UTF-8 is handled as the
 * reference tokenizers do, never an error.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_tokenizer_encode(const nexttok_tokenizer *tokenizer,
                                                    const char *text, size_t len,
                                                    uint32_t flags,
                                                    int32_t *tokens, size_t capacity,
                                                    size_t *n_tokens_out);

/** Flags for nexttok_tokenizer_decode. */
#define NEXTTOK_DECODE_SKIP_SPECIAL 1u /* control tokens give no text */

/**
 * Turn ids into UTF-8 text. Writes at most `capacity` bytes (no NUL added)
 * and the size needed into *len_out; NEXTTOK_ERR_BUFFER_TOO_SMALL when it
 * does not fit.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_tokenizer_decode(const nexttok_tokenizer *tokenizer,
                                                    const int32_t *tokens, size_t n_tokens,
                                                    uint32_t flags,
                                                    char *text, size_t capacity,
                                                    size_t *len_out);

/** The raw bytes one token stands for (byte tokens give their byte). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_tokenizer_piece_get(const nexttok_tokenizer *tokenizer,
                                                       int32_t token,
                                                       char *text, size_t capacity,
                                                       size_t *len_out);

/** Vocabulary size. */
NEXTTOK_API int32_t nexttok_tokenizer_n_vocab_get(const nexttok_tokenizer *tokenizer);
/** Special ids; -1 where the vocabulary has none. */
NEXTTOK_API int32_t nexttok_tokenizer_bos_get(const nexttok_tokenizer *tokenizer);
NEXTTOK_API int32_t nexttok_tokenizer_eos_get(const nexttok_tokenizer *tokenizer);
NEXTTOK_API int32_t nexttok_tokenizer_unk_get(const nexttok_tokenizer *tokenizer);
NEXTTOK_API int32_t nexttok_tokenizer_pad_get(const nexttok_tokenizer *tokenizer);
/** Type of token `token`; NEXTTOK_TOKEN_UNDEFINED when out of range. */
NEXTTOK_API nexttok_token_type nexttok_tokenizer_token_type_get(const nexttok_tokenizer *tokenizer,
                                                               int32_t token);
/** 1 if `token` is a control token (BOS, EOS, ...), else 0. */
NEXTTOK_API int nexttok_tokenizer_is_control(const nexttok_tokenizer *tokenizer, int32_t token);

/* --- streaming decoding --------------------------------------------------- */

typedef struct nexttok_decoder nexttok_decoder;

/** A streaming decoder over `tokenizer` (which must outlive it). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_decoder_create(const nexttok_tokenizer *tokenizer,
                                                  uint32_t flags,
                                                  nexttok_decoder **decoder_out);
/** Release a decoder. NULL is fine. */
NEXTTOK_API void nexttok_decoder_free(nexttok_decoder *decoder);
/**
 * Add one token; writes the text that is now complete (whole UTF-8
 * characters only; a token may end mid-character and its bytes wait for
 * the next token). Same buffer rules as nexttok_tokenizer_decode; on
 * NEXTTOK_ERR_BUFFER_TOO_SMALL the token is not taken and the decoder is
 * unchanged, so the call can be repeated with a larger buffer.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_decoder_push(nexttok_decoder *decoder, int32_t token,
                                                char *text, size_t capacity, size_t *len_out);
/** Emit what is still held back (incomplete bytes become U+FFFD) and reset. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_decoder_flush(nexttok_decoder *decoder,
                                                 char *text, size_t capacity, size_t *len_out);

/* --- text into sessions --------------------------------------------------- */

/**
 * Tokenize `text` (flags as for nexttok_tokenizer_encode) and feed it to
 * `session`. Same all-or-nothing rule as nexttok_session_feed.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_text_feed(nexttok_session *session,
                                                     const nexttok_tokenizer *tokenizer,
                                                     const char *text, size_t len,
                                                     uint32_t flags);

/* ------------------------------------------------------------------------ */
/* Scoring: log-probabilities of given tokens, and perplexity               */
/* ------------------------------------------------------------------------ */

/** One scored token of nexttok_session_score. */
typedef struct nexttok_token_score {
    int32_t token;   /* the token scored */
    int32_t rank;    /* 1 + the number of vocabulary tokens whose logit is
                        strictly higher: tokens tied for a logit share the
                        best rank among them */
    int32_t greedy;  /* 1 when rank is 1 (a token tied for the highest logit
                        counts, although arg-max takes the lowest id) */
    double logprob;  /* natural log of its probability: the log-softmax of
                        the logits before it, computed in double */
} nexttok_token_score;

/** What a whole continuation scores. */
typedef struct nexttok_score_info {
    size_t struct_size;  /* sizeof(nexttok_score_info), set by caller */
    double logprob_sum;  /* sum of the tokens' logprob, in token order */
    int32_t n_tokens;    /* tokens scored */
    int32_t n_greedy;    /* of them with rank 1 */
    int32_t greedy;      /* 1 when every token has rank 1 (also for none) */
} nexttok_score_info;

/**
 * Score a continuation after the session's current context: token i is
 * scored with the logits after everything before it (the session's last
 * logits for i = 0), and then the tokens are fed. The session must hold
 * logits (NEXTTOK_ERR_STATE at position 0: feed at least a BOS first); any
 * context already fed counts, so one context can be fed once and each
 * continuation scored after a nexttok_session_rewind back to it.
 *
 * The tokens go in as one feed with the logits of every row, in batches of
 * the session's n_batch (fewer for large vocabularies, so the rows held
 * stay within 64 MB). Afterwards the session holds the continuation too.
 *
 * `scores` may be NULL (capacity 0) when only `info` is wanted; otherwise
 * capacity must be at least n_tokens (NEXTTOK_ERR_BUFFER_TOO_SMALL). `info`
 * may be NULL. All or nothing, as nexttok_session_feed: on any failure
 * nothing is fed.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_score(nexttok_session *session,
                                                 const int32_t *tokens, size_t n_tokens,
                                                 nexttok_token_score *scores, size_t capacity,
                                                 nexttok_score_info *info);

/** What one ending of nexttok_session_choices_score scores. */
typedef struct nexttok_choice_score {
    double logprob_sum;   /* log-likelihood of the ending's tokens after the context */
    double logprob_norm;  /* logprob_sum / n_chars: what lm-eval's acc_norm compares */
    int32_t n_tokens;     /* the ending's tokens */
    int32_t greedy;       /* 1 when each of them was the greedy choice */
    int64_t n_chars;      /* Unicode code points of the ending as given */
} nexttok_choice_score;

/** Which endings win. */
typedef struct nexttok_choices_info {
    size_t struct_size;      /* sizeof(nexttok_choices_info), set by caller */
    size_t best;             /* highest logprob_sum (the lowest index of a tie): acc's pick */
    size_t best_norm;        /* highest logprob_norm: acc_norm's pick */
    int32_t n_context_tokens;/* where the session stands afterwards */
} nexttok_choices_info;

/**
 * Score n_endings candidate endings of `context` as lm-evaluation-harness
 * scores a multiple-choice item: the context's trailing ASCII white space
 * moves to the front of each ending; the context is tokenized alone (with
 * the vocabulary's BOS/EOS) and fed once, into the session after a reset;
 * each ending's tokens are those of tokenize(context + ending) after the
 * context's own tokens, scored after a rewind back to the context. A
 * context that gives no tokens is replaced by BOS (else EOS). Writes
 * scores[0 .. n_endings) (capacity at least n_endings) and the picks to
 * *info; the session is left holding the context. Errors: an empty ending
 * (acc_norm divides by its length), an ending that adds no tokens, a
 * context and ending longer than the session's context.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_choices_score(nexttok_session *session,
                                                         const nexttok_tokenizer *tokenizer,
                                                         const char *context, size_t context_len,
                                                         const char *const *endings,
                                                         const size_t *ending_lens, size_t n_endings,
                                                         nexttok_choice_score *scores, size_t capacity,
                                                         nexttok_choices_info *info);

/* --- constrained choices: generate exactly one of K endings ------------- */

/**
 * A constraint that lets generation after `context` spell exactly one of
 * n_endings endings: a trie over each ending's tokens as
 * nexttok_session_choices_score defines them (tokenize(context + ending)
 * after tokenize(context), the context's trailing white space moved to
 * the ending). Feed the context's tokens (nexttok_constraint_context_get),
 * then at each step draw only from nexttok_constraint_allowed_get's
 * tokens and nexttok_constraint_accept the one drawn, until
 * nexttok_constraint_matched_get names an ending that nothing continues.
 * An NPC answers "attack", "flee" or "trade", nothing else.
 */
typedef struct nexttok_constraint nexttok_constraint;

NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_constraint_choices_create(const nexttok_tokenizer *tokenizer,
                                                             const char *context, size_t context_len,
                                                             const char *const *endings,
                                                             const size_t *ending_lens, size_t n_endings,
                                                             nexttok_constraint **constraint_out);
/** Release a constraint. NULL is fine. */
NEXTTOK_API void nexttok_constraint_free(nexttok_constraint *constraint);
/** The context's tokens to feed before generating (owned by the constraint). */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_constraint_context_get(const nexttok_constraint *constraint,
                                                          const int32_t **tokens, size_t *n_tokens);
/**
 * The tokens that may come next, in ascending order: writes up to
 * `capacity` into `tokens` and the count to *n_out
 * (NEXTTOK_ERR_BUFFER_TOO_SMALL when more). None once a complete ending
 * has no longer continuation.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_constraint_allowed_get(const nexttok_constraint *constraint,
                                                          int32_t *tokens, size_t capacity, size_t *n_out);
/** Advance by `token`; a token no ending continues with is refused
 *  (NEXTTOK_ERR_INVALID_ARGUMENT) and changes nothing. */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_constraint_accept(nexttok_constraint *constraint, int32_t token);
/**
 * The ending the accepted tokens spell completely (the lowest index when
 * two endings tokenize alike), or -1; *can_continue (may be NULL) is 1 when
 * a longer ending continues from here ("flee" and "flee north").
 */
NEXTTOK_API int32_t nexttok_constraint_matched_get(const nexttok_constraint *constraint,
                                                   int32_t *can_continue);
/** Back to before the first ending token. */
NEXTTOK_API void nexttok_constraint_reset(nexttok_constraint *constraint);

/**
 * Set mask stage `stage` of `chain` (nexttok_sampler_chain_mask_add) to
 * the tokens nexttok_constraint_allowed_get lists: call it before each
 * draw, and accept the drawn token into both the chain and the constraint.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_constraint_mask_apply(const nexttok_constraint *constraint,
                                                         nexttok_sampler_chain *chain, int32_t stage);

typedef struct nexttok_perplexity_params {
    size_t struct_size;   /* sizeof(nexttok_perplexity_params) */
    int32_t n_window;     /* N: tokens per window, 2..the session's n_ctx;
                             0 = the session's n_ctx */
    int32_t stride;       /* S: a window starts every S tokens, 1..N;
                             0 = N / 2 */
    /* Called after each window with the fraction of windows done; a
     * non-zero return stops the run with NEXTTOK_ERR_CANCELLED. May be NULL. */
    nexttok_progress_fn progress;
    void *progress_user_data;
} nexttok_perplexity_params;

/** Fill `params` (struct_size = sizeof *params) with defaults. */
NEXTTOK_API void nexttok_perplexity_params_init(nexttok_perplexity_params *params,
                                                size_t struct_size);

/** The result of a perplexity run. NLL is the negative logprob, in nats. */
typedef struct nexttok_perplexity_info {
    size_t struct_size;     /* sizeof(nexttok_perplexity_info), set by caller */
    double perplexity;      /* exp(nll_mean) */
    double perplexity_se;   /* perplexity * nll_se (the delta method) */
    double nll_mean;        /* mean NLL of the scored tokens */
    double nll_se;          /* standard error of that mean: the sample
                               standard deviation (n - 1) over sqrt(n);
                               0 with one scored token */
    double nll_sum;         /* total NLL of the scored tokens */
    double bits_per_byte;   /* nll_sum / ln 2 / n_bytes; 0 without a text */
    int64_t n_tokens;       /* tokens of the sequence, BOS included */
    int64_t n_scored;       /* tokens scored */
    int64_t n_bytes;        /* UTF-8 bytes of the text; 0 without a text */
    int32_t n_windows;      /* windows run */
    int32_t n_window;       /* N and S as resolved */
    int32_t stride;
} nexttok_perplexity_info;

/**
 * Sliding-window perplexity of `n_tokens` tokens (Hugging Face's
 * "perplexity of fixed-length models" with a stride): window w holds the
 * tokens [w*S, min(w*S + N, n_tokens)), windows follow until one reaches the
 * end, and each scores the tokens of its range that no earlier window
 * scored, every one with the logits after the window's tokens before it.
 * So a token is scored with up to N - S tokens of context before the part
 * its window scores, and one with none in its window is never scored: the
 * first token, and with S = N the first token of every window. Each window
 * runs in the session from position 0 (the session is reset; afterwards it
 * holds the last window). Nothing is added per window: a BOS is whatever
 * tokens[0] is. At least two tokens are needed.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_perplexity_compute(nexttok_session *session,
                                                              const int32_t *tokens,
                                                              size_t n_tokens,
                                                              const nexttok_perplexity_params *params,
                                                              nexttok_perplexity_info *info);

/**
 * The same over `len` bytes of UTF-8 `text`, tokenized with the
 * vocabulary's special tokens (NEXTTOK_ENCODE_ADD_SPECIAL: a BOS at the
 * start of the text only, where the vocabulary adds one), and with bits
 * per byte over the text's `len` bytes.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_session_text_perplexity_compute(nexttok_session *session,
                                                                   const nexttok_tokenizer *tokenizer,
                                                                   const char *text, size_t len,
                                                                   const nexttok_perplexity_params *params,
                                                                   nexttok_perplexity_info *info);

/* ------------------------------------------------------------------------ */
/* Prediction as compression: nexttok zip                                   */
/* ------------------------------------------------------------------------ */

/*
 * A text is compressed by range-coding its tokens with the model's own
 * next-token distributions: a well-predicted token costs a fraction of a
 * bit. Decompression runs the same model over the tokens it decodes, so it
 * must see the very same distributions: both sides run a
 * NEXTTOK_PRECISION_PORTABLE session (bit-identical logits on every CPU and
 * ISA), and quantize each row to integer frequencies by one fixed rule
 * (every token at least 1 of 2^24). A file zipped on x86 unzips on ARM.
 *
 * Any bytes round-trip exactly. The input is tokenized without special
 * tokens; a stretch where detokenize(tokenize(x)) != x (invalid UTF-8,
 * text the vocabulary would spell differently) is split, and what still
 * does not round-trip is coded as raw bytes (8 bits each). If the coded
 * form comes out no smaller than the input, the file stores the input as
 * it is. Texts longer than the window run in a sliding window: when the
 * session is full it restarts from BOS and the last half of the window.
 *
 * The file: a 120-byte header (magic "NTZIP\r\n\x1a", format version, the
 * model's BLAKE2b-256 digest, the original length, a BLAKE2b-256 checksum
 * of the original, the window, the payload length and a digest of the
 * header itself), then the payload. Decompression checks the header, the
 * model, the length and, at the end, the checksum, and fails with:
 *   NEXTTOK_ERR_FORMAT          not a zip file, a damaged header, trailing bytes
 *   NEXTTOK_ERR_UNSUPPORTED     a format version this library does not read
 *   NEXTTOK_ERR_MODEL_MISMATCH  made with another model (both digests named)
 *   NEXTTOK_ERR_TRUNCATED       shorter than its header says
 *   NEXTTOK_ERR_CHECKSUM        the payload is corrupted
 * and then leaves the output buffer zeroed: nothing half-made.
 */

/** Bytes of a zip file's header. */
#define NEXTTOK_ZIP_HEADER_BYTES 120

typedef struct nexttok_zip_params {
    size_t struct_size;   /* sizeof(nexttok_zip_params) */
    int32_t n_ctx;        /* compress: the window in tokens, 4..the model's
                             trained context; 0 = that context, at most 1024.
                             Decompress uses the file's. */
    int32_t n_threads;    /* threads of the forward pass; 0 = all cores */
    nexttok_pool *pool;   /* a shared pool (borrowed), or NULL */
    /* Called now and then with the fraction of the input (compress) or
     * output (decompress) done; non-zero stops with NEXTTOK_ERR_CANCELLED.
     * May be NULL. */
    nexttok_progress_fn progress;
    void *progress_user_data;
} nexttok_zip_params;

/** Fill `params` (struct_size = sizeof *params) with defaults. */
NEXTTOK_API void nexttok_zip_params_init(nexttok_zip_params *params, size_t struct_size);

/** The most bytes nexttok_zip_compress writes for `in_len` bytes of input
 * (header + in_len: stored form), or 0 when that overflows size_t. */
NEXTTOK_API size_t nexttok_zip_bound(size_t in_len);

/**
 * Compress `in_len` bytes (any bytes) with `model` and its tokenizer
 * (`tokenizer`: made by nexttok_tokenizer_create from the same model, or
 * NULL to make one for the call). Writes at most `out_cap` bytes into
 * `out` and their count into *out_len; out_cap >= nexttok_zip_bound(in_len)
 * always suffices, a smaller one may give NEXTTOK_ERR_BUFFER_TOO_SMALL
 * (*out_len then holds the bound). `params` may be NULL. Vocabularies
 * above 2^22 tokens are NEXTTOK_ERR_UNSUPPORTED.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_zip_compress(const nexttok_model *model,
                                                const nexttok_tokenizer *tokenizer,
                                                const nexttok_zip_params *params,
                                                const void *in, size_t in_len,
                                                void *out, size_t out_cap, size_t *out_len);

/** What a zip file's header says (nexttok_zip_info_get). */
typedef struct nexttok_zip_info {
    size_t struct_size;      /* sizeof(nexttok_zip_info), set by caller */
    uint32_t version;        /* format version (1) */
    int32_t stored;          /* 1: the payload is the input as it was */
    uint64_t original_len;   /* bytes nexttok_zip_decompress writes */
    uint64_t payload_len;    /* bytes after the header */
    int32_t n_ctx;           /* the window it was coded with */
    uint8_t model_digest[NEXTTOK_DIGEST_BYTES];  /* of the model it needs */
    uint8_t checksum[NEXTTOK_DIGEST_BYTES];      /* BLAKE2b-256 of the original */
} nexttok_zip_info;

/**
 * Read and check the header of `in_len` bytes of a zip file (no model
 * needed): the size query for decompression's buffer. Fails as
 * decompression does for the header's own faults (FORMAT, UNSUPPORTED,
 * TRUNCATED), not for the payload's.
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_zip_info_get(const void *in, size_t in_len, nexttok_zip_info *info);

/**
 * Decompress a file made by nexttok_zip_compress with the same model
 * (`tokenizer` as for compression, or NULL). Writes the original
 * (info.original_len bytes) into `out` and its length into *out_len;
 * NEXTTOK_ERR_BUFFER_TOO_SMALL when out_cap is smaller (*out_len then holds
 * the length needed). Errors as listed above; on any failure the bytes of
 * `out` written so far are zeroed. `params` may be NULL (its n_ctx is not
 * used: the file's window is).
 */
NEXTTOK_API NEXTTOK_NODISCARD nexttok_status nexttok_zip_decompress(const nexttok_model *model,
                                                  const nexttok_tokenizer *tokenizer,
                                                  const nexttok_zip_params *params,
                                                  const void *in, size_t in_len,
                                                  void *out, size_t out_cap, size_t *out_len);

#ifdef __cplusplus
}
#endif

#endif /* NEXTTOK_H */
