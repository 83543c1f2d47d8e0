"""Python binding of libnexttok (ctypes; no compiled extension).

    import nexttok
    with nexttok.Model("model.gguf") as model, model.session() as s:
        tok = model.tokenizer()
        s.feed(tok.encode("Once upon a time"))
        for token_id, prob in s.topk(5):
            print(token_id, prob, tok.piece(token_id))

The shared library is found through, in order: the NEXTTOK_LIB environment
variable (a path to libnexttok.so), a libnexttok.so beside this module, the
build folders of a source checkout (build/lib), then the system's library
search path. Every failing call raises NexttokError, which carries the
status (a Status) and the library's message.

Logits and probabilities come back as array.array('f'); with numpy
installed, Session.logits_numpy() gives an ndarray instead.
"""

import array
import ctypes
import ctypes.util
import enum
import os
import weakref
from collections import namedtuple
from ctypes import (CFUNCTYPE, POINTER, Structure, byref, c_char, c_char_p,
                    c_double, c_float, c_int, c_int32, c_int64, c_size_t, c_uint,
                    c_uint8, c_uint32, c_uint64, c_void_p, sizeof)

__all__ = [
    "Status", "NexttokError", "Model", "Session", "Tokenizer", "Decoder",
    "Sampler", "SamplerChain", "TensorInfo", "ModelInfo", "TokenType", "version", "isa",
    "DIGEST_BYTES", "TokenScore", "Score", "Perplexity", "ChoiceScore", "Choices", "Constraint",
    "sessions_feed", "Batch", "Feed", "clock_ns",
    "DIGEST_BYTES", "ContextFull", "SessionInfo", "TokenScore", "Score", "Perplexity", "ChoiceScore", "Choices", "Constraint",
]

DIGEST_BYTES = 32


class Status(enum.IntEnum):
    OK = 0
    INVALID_ARGUMENT = 1
    IO = 2
    NO_MEMORY = 3
    FORMAT = 4
    UNSUPPORTED = 5
    CONTEXT_FULL = 6
    TOKEN_RANGE = 7
    CHECKSUM = 8
    CANCELLED = 9
    BUFFER_TOO_SMALL = 10
    STATE = 11
    NOT_FOUND = 12
    MODEL_MISMATCH = 13
    DEADLINE = 14
    TRUNCATED = 15


class TokenType(enum.IntEnum):
    UNDEFINED = 0
    NORMAL = 1
    UNKNOWN = 2
    CONTROL = 3
    USER_DEFINED = 4
    UNUSED = 5
    BYTE = 6


class NexttokError(Exception):
    """A failed library call: .status (Status or int) and .message."""

    def __init__(self, status, message, what=""):
        try:
            status = Status(status)
        except ValueError:
            pass
        self.status = status
        self.message = message
        name = status.name if isinstance(status, Status) else str(status)
        text = "%s: %s" % (name, message) if message else name
        super().__init__("%s: %s" % (what, text) if what else text)


# --------------------------------------------------------------------------
# C declarations
# --------------------------------------------------------------------------

_PROGRESS_FN = CFUNCTYPE(c_int, c_float, c_void_p)


class _ModelParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("progress", _PROGRESS_FN),
                ("progress_user_data", c_void_p), ("metadata_only", c_int32)]


class _ModelInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("architecture", c_char_p),
                ("name", c_char_p), ("n_vocab", c_int32),
                ("n_ctx_train", c_int32), ("n_embd", c_int32),
                ("n_layer", c_int32), ("n_head", c_int32),
                ("n_head_kv", c_int32), ("n_ff", c_int32),
                ("gguf_version", c_uint32), ("n_params", c_uint64),
                ("file_size", c_uint64), ("runnable", c_int32),
                ("head_dim", c_int32), ("features", c_char_p)]


class _TensorInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("name", c_char_p),
                ("type_name", c_char_p), ("n_dims", c_uint32),
                ("dims", c_int64 * 4), ("offset", c_uint64),
                ("n_bytes", c_uint64)]


class _SessionParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("n_ctx", c_int32),
                ("n_threads", c_int32), ("pool", c_void_p),
                ("precision", c_int32), ("kv_type", c_int32), ("n_batch", c_int32),
                ("context_full", c_int32), ("n_keep", c_int32), ("n_discard", c_int32)]


class Precision(enum.IntEnum):
    """How products with quantized weights run (nexttok_precision)."""
    DEFAULT = 0
    FAST = 1
    EXACT = 2
    PORTABLE = 3  # bit-identical logits on every machine (scalar kernels)


class KvType(enum.IntEnum):
    """The KV cache's row type (nexttok_kv_type)."""
    F32 = 0
    F16 = 1
    Q8_0 = 2


class ContextFull(enum.IntEnum):
    """What a feed past the context does (nexttok_context_full)."""
    ERROR = 0
    SHIFT = 1


class _SessionInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("n_ctx", c_int32), ("n_threads", c_int32),
                ("precision", c_int32), ("kv_type", c_int32), ("kv_bytes", c_uint64),
                ("kv_bytes_per_pos", c_uint64), ("scratch_bytes", c_uint64),
                ("kv_bytes_held", c_uint64), ("kv_bytes_shared", c_uint64), ("n_shifted", c_int64),
                ("context_full", c_int32)]


class _TokenProb(Structure):
    _fields_ = [("id", c_int32), ("prob", c_float)]


class _SamplerParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("temperature", c_float),
                ("top_k", c_int32), ("top_p", c_float), ("min_p", c_float),
                ("seed", c_uint64)]


class _TokenScore(Structure):
    _fields_ = [("token", c_int32), ("rank", c_int32), ("greedy", c_int32),
                ("logprob", c_double)]


class _ScoreInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("logprob_sum", c_double),
                ("n_tokens", c_int32), ("n_greedy", c_int32), ("greedy", c_int32)]


class _ChoiceScore(Structure):
    _fields_ = [("logprob_sum", c_double), ("logprob_norm", c_double), ("n_tokens", c_int32),
                ("greedy", c_int32), ("n_chars", c_int64)]


class _ChoicesInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("best", c_size_t), ("best_norm", c_size_t),
                ("n_context_tokens", c_int32)]


class _PerplexityParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("n_window", c_int32), ("stride", c_int32),
                ("progress", _PROGRESS_FN), ("progress_user_data", c_void_p)]


class _PerplexityInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("perplexity", c_double),
                ("perplexity_se", c_double), ("nll_mean", c_double), ("nll_se", c_double),
                ("nll_sum", c_double), ("bits_per_byte", c_double), ("n_tokens", c_int64),
                ("n_scored", c_int64), ("n_bytes", c_int64), ("n_windows", c_int32),
                ("n_window", c_int32), ("stride", c_int32)]


class _SamplerChainParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("seed", c_uint64)]


class _LogitBias(Structure):
    _fields_ = [("token", c_int32), ("bias", c_float)]


_FEED_CHECK_FN = CFUNCTYPE(c_int, c_void_p)


class _FeedParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("deadline_ns", c_int64), ("budget_ns", c_int64),
                ("check", _FEED_CHECK_FN), ("user_data", c_void_p)]


_P = c_void_p  # opaque handles
_SIGNATURES = {
    "nexttok_version_string": (c_char_p, []),
    "nexttok_version_number": (c_uint, []),
    "nexttok_isa_name_get": (c_char_p, []),
    "nexttok_status_describe": (c_char_p, [c_int]),
    "nexttok_error_message": (c_char_p, []),
    "nexttok_model_params_init": (None, [POINTER(_ModelParams), c_size_t]),
    "nexttok_model_load": (c_int, [c_char_p, POINTER(_ModelParams), POINTER(_P)]),
    "nexttok_model_free": (None, [_P]),
    "nexttok_model_info_get": (c_int, [_P, POINTER(_ModelInfo)]),
    "nexttok_model_architecture_get": (c_char_p, [_P]),
    "nexttok_model_n_vocab_get": (c_int32, [_P]),
    "nexttok_model_n_ctx_train_get": (c_int32, [_P]),
    "nexttok_model_n_embd_get": (c_int32, [_P]),
    "nexttok_model_tensor_count_get": (c_size_t, [_P]),
    "nexttok_model_tensor_info_get": (c_int, [_P, c_size_t, POINTER(_TensorInfo)]),
    "nexttok_model_meta_count_get": (c_size_t, [_P]),
    "nexttok_model_meta_get": (c_int, [_P, c_size_t, c_char_p, c_size_t, c_char_p, c_size_t]),
    "nexttok_model_digest_get": (c_int, [_P, POINTER(c_uint8)]),
    "nexttok_model_tensor_digest_get": (c_int, [_P, c_size_t, POINTER(c_uint8)]),
    "nexttok_model_verify": (c_int, [_P, POINTER(c_uint8)]),
    "nexttok_session_params_init": (None, [POINTER(_SessionParams), c_size_t]),
    "nexttok_session_create": (c_int, [_P, POINTER(_SessionParams), POINTER(_P)]),
    "nexttok_session_free": (None, [_P]),
    "nexttok_session_feed": (c_int, [_P, POINTER(c_int32), c_size_t, POINTER(c_float), c_size_t]),
    "nexttok_session_logits_get": (c_int, [_P, POINTER(POINTER(c_float))]),
    "nexttok_session_probs_get": (c_int, [_P, c_float, POINTER(c_float), c_size_t]),
    "nexttok_session_topk_get": (c_int, [_P, c_float, c_size_t, POINTER(_TokenProb),
                                         POINTER(c_size_t)]),
    "nexttok_session_position_get": (c_int32, [_P]),
    "nexttok_session_n_ctx_get": (c_int32, [_P]),
    "nexttok_session_info_get": (c_int, [_P, POINTER(_SessionInfo)]),
    "nexttok_session_fork": (c_int, [_P, POINTER(_SessionParams), POINTER(_P)]),
    "nexttok_session_snapshot_write": (c_int, [_P, c_void_p, c_size_t, POINTER(c_size_t)]),
    "nexttok_session_snapshot_save": (c_int, [_P, c_char_p]),
    "nexttok_session_restore": (c_int, [_P, c_char_p, c_size_t, POINTER(_SessionParams), POINTER(_P)]),
    "nexttok_session_restore_file": (c_int, [_P, c_char_p, POINTER(_SessionParams), POINTER(_P)]),
    "nexttok_pool_create": (c_int, [c_int32, POINTER(_P)]),
    "nexttok_pool_free": (None, [_P]),
    "nexttok_pool_n_threads_get": (c_int32, [_P]),
    "nexttok_session_rewind": (c_int, [_P, c_int32]),
    "nexttok_session_reset": (c_int, [_P]),
    "nexttok_session_text_feed": (c_int, [_P, _P, c_char_p, c_size_t, c_uint32]),
    "nexttok_sampler_params_init": (None, [POINTER(_SamplerParams), c_size_t]),
    "nexttok_sampler_create": (c_int, [POINTER(_SamplerParams), POINTER(_P)]),
    "nexttok_sampler_free": (None, [_P]),
    "nexttok_sampler_sample": (c_int, [_P, _P, POINTER(c_int32)]),
    "nexttok_sampler_chain_params_init": (None, [POINTER(_SamplerChainParams), c_size_t]),
    "nexttok_sampler_chain_create": (c_int, [c_int32, POINTER(_SamplerChainParams), POINTER(_P)]),
    "nexttok_sampler_chain_default_create": (c_int, [c_int32, POINTER(_SamplerParams),
                                                     POINTER(_P)]),
    "nexttok_sampler_chain_free": (None, [_P]),
    "nexttok_sampler_chain_clone": (c_int, [_P, POINTER(_P)]),
    "nexttok_sampler_chain_reset": (c_int, [_P]),
    "nexttok_sampler_chain_n_stages_get": (c_int32, [_P]),
    "nexttok_sampler_chain_n_vocab_get": (c_int32, [_P]),
    "nexttok_sampler_chain_stage_name_get": (c_char_p, [_P, c_int32]),
    "nexttok_sampler_chain_temperature_add": (c_int, [_P, c_float]),
    "nexttok_sampler_chain_top_k_add": (c_int, [_P, c_int32]),
    "nexttok_sampler_chain_top_p_add": (c_int, [_P, c_float]),
    "nexttok_sampler_chain_min_p_add": (c_int, [_P, c_float]),
    "nexttok_sampler_chain_typical_add": (c_int, [_P, c_float]),
    "nexttok_sampler_chain_penalties_add": (c_int, [_P, c_int32, c_float, c_float, c_float]),
    "nexttok_sampler_chain_logit_bias_add": (c_int, [_P, POINTER(_LogitBias), c_size_t]),
    "nexttok_sampler_chain_logit_bias_set": (c_int, [_P, c_int32, POINTER(_LogitBias),
                                                     c_size_t]),
    "nexttok_sampler_chain_mask_add": (c_int, [_P]),
    "nexttok_sampler_chain_mask_set": (c_int, [_P, c_int32, POINTER(c_uint64), c_size_t]),
    "nexttok_sampler_chain_mask_tokens_set": (c_int, [_P, c_int32, POINTER(c_int32), c_size_t]),
    "nexttok_sampler_chain_greedy_add": (c_int, [_P]),
    "nexttok_sampler_chain_dist_add": (c_int, [_P]),
    "nexttok_sampler_chain_sample": (c_int, [_P, _P, POINTER(c_int32)]),
    "nexttok_sampler_chain_logits_sample": (c_int, [_P, POINTER(c_float), c_size_t,
                                                    POINTER(c_int32)]),
    "nexttok_sampler_chain_accept": (c_int, [_P, c_int32]),
    "nexttok_sampler_chain_candidates_get": (c_int, [_P, POINTER(_TokenProb), c_size_t,
                                                     POINTER(c_size_t)]),
    "nexttok_tokenizer_create": (c_int, [_P, POINTER(_P)]),
    "nexttok_tokenizer_load": (c_int, [c_char_p, POINTER(_P)]),
    "nexttok_tokenizer_free": (None, [_P]),
    "nexttok_tokenizer_encode": (c_int, [_P, c_char_p, c_size_t, c_uint32, POINTER(c_int32),
                                         c_size_t, POINTER(c_size_t)]),
    "nexttok_tokenizer_decode": (c_int, [_P, POINTER(c_int32), c_size_t, c_uint32,
                                         POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "nexttok_tokenizer_piece_get": (c_int, [_P, c_int32, POINTER(c_char), c_size_t,
                                            POINTER(c_size_t)]),
    "nexttok_tokenizer_n_vocab_get": (c_int32, [_P]),
    "nexttok_tokenizer_bos_get": (c_int32, [_P]),
    "nexttok_tokenizer_eos_get": (c_int32, [_P]),
    "nexttok_tokenizer_unk_get": (c_int32, [_P]),
    "nexttok_tokenizer_pad_get": (c_int32, [_P]),
    "nexttok_tokenizer_token_type_get": (c_int, [_P, c_int32]),
    "nexttok_tokenizer_is_control": (c_int, [_P, c_int32]),
    "nexttok_decoder_create": (c_int, [_P, c_uint32, POINTER(_P)]),
    "nexttok_decoder_free": (None, [_P]),
    "nexttok_decoder_push": (c_int, [_P, c_int32, POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "nexttok_decoder_flush": (c_int, [_P, POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "nexttok_session_score": (c_int, [_P, POINTER(c_int32), c_size_t, POINTER(_TokenScore),
                                      c_size_t, POINTER(_ScoreInfo)]),
    "nexttok_constraint_choices_create": (c_int, [_P, c_char_p, c_size_t, POINTER(c_char_p),
                                                  POINTER(c_size_t), c_size_t, POINTER(_P)]),
    "nexttok_constraint_free": (None, [_P]),
    "nexttok_constraint_context_get": (c_int, [_P, POINTER(POINTER(c_int32)), POINTER(c_size_t)]),
    "nexttok_constraint_allowed_get": (c_int, [_P, POINTER(c_int32), c_size_t, POINTER(c_size_t)]),
    "nexttok_constraint_accept": (c_int, [_P, c_int32]),
    "nexttok_constraint_matched_get": (c_int32, [_P, POINTER(c_int32)]),
    "nexttok_constraint_reset": (None, [_P]),
    "nexttok_constraint_mask_apply": (c_int, [_P, _P, c_int32]),
    "nexttok_session_choices_score": (c_int, [_P, _P, c_char_p, c_size_t, POINTER(c_char_p),
                                              POINTER(c_size_t), c_size_t, POINTER(_ChoiceScore),
                                              c_size_t, POINTER(_ChoicesInfo)]),
    "nexttok_perplexity_params_init": (None, [POINTER(_PerplexityParams), c_size_t]),
    "nexttok_sessions_feed": (c_int, [POINTER(_P), POINTER(c_int32), c_size_t, POINTER(c_float),
                                      c_size_t]),
    "nexttok_clock_ns": (c_int64, []),
    "nexttok_feed_params_init": (None, [POINTER(_FeedParams), c_size_t]),
    "nexttok_session_feed_ex": (c_int, [_P, POINTER(c_int32), c_size_t, POINTER(c_float), c_size_t,
                                        POINTER(_FeedParams), POINTER(c_size_t)]),
    "nexttok_session_cancel": (c_int, [_P]),
    "nexttok_session_perplexity_compute": (c_int, [_P, POINTER(c_int32), c_size_t,
                                                   POINTER(_PerplexityParams),
                                                   POINTER(_PerplexityInfo)]),
    "nexttok_session_text_perplexity_compute": (c_int, [_P, _P, c_char_p, c_size_t,
                                                        POINTER(_PerplexityParams),
                                                        POINTER(_PerplexityInfo)]),
}

ENCODE_ADD_SPECIAL = 1
ENCODE_PARSE_SPECIAL = 2
DECODE_SKIP_SPECIAL = 1


def _candidate_paths():
    env = os.environ.get("NEXTTOK_LIB")
    if env:
        yield env
    here = os.path.dirname(os.path.abspath(__file__))
    for name in ("libnexttok.so", "libnexttok.so.0", "libnexttok.dylib"):
        yield os.path.join(here, name)
    root = os.path.dirname(os.path.dirname(here))  # bindings/python -> checkout
    for build in ("build", "builddir", "build-release", "build-debug"):
        for name in ("libnexttok.so", "libnexttok.dylib"):
            yield os.path.join(root, build, "lib", name)
    found = ctypes.util.find_library("nexttok")
    if found:
        yield found


class _Api:
    """The library's functions by name, with their C signatures."""


class _Missing:
    """Stands for a function this build of the library does not export."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args):
        raise NexttokError(Status.UNSUPPORTED, "%s is not in this libnexttok" % self.name)


_lib = None


def _library():
    """The loaded shared library, with every signature declared (once)."""
    global _lib
    if _lib is not None:
        return _lib
    tried = []
    for path in _candidate_paths():
        if os.path.sep in path and not os.path.exists(path):
            tried.append(path)
            continue
        try:
            lib = ctypes.CDLL(path)
        except OSError as e:
            tried.append("%s (%s)" % (path, e))
            continue
        api = _Api()
        for name, (restype, argtypes) in _SIGNATURES.items():
            try:
                fn = getattr(lib, name)
            except AttributeError:
                fn = _Missing(name)  # an older library: fail on use only
            else:
                fn.restype = restype
                fn.argtypes = argtypes
            setattr(api, name, fn)
        api.path = path
        _lib = api
        return api
    raise OSError("libnexttok not found; set NEXTTOK_LIB to the path of libnexttok.so "
                  "(tried: %s)" % ", ".join(tried))


def _message():
    raw = _library().nexttok_error_message()
    return raw.decode("utf-8", "replace") if raw else ""


def _check(status, what=""):
    if status != Status.OK:
        raise NexttokError(status, _message(), what)


def _path_bytes(path):
    return os.fsencode(path)


def version():
    """The linked library's version string, e.g. '0.1.0'."""
    return _library().nexttok_version_string().decode()


def isa():
    """The instruction set the kernels run with: 'avx512', 'avx2', 'neon', 'scalar'."""
    return _library().nexttok_isa_name_get().decode()


def _int32_array(tokens):
    tokens = list(tokens)
    for t in tokens:
        if not isinstance(t, int) or isinstance(t, bool):
            raise TypeError("token ids must be ints, got %r" % (t,))
        if not -2**31 <= t < 2**31:
            raise NexttokError(Status.TOKEN_RANGE, "token id %d does not fit in int32" % t)
    return (c_int32 * len(tokens))(*tokens), len(tokens)


def _text_bytes(text):
    return text.encode("utf-8") if isinstance(text, str) else bytes(text)


def _call_with_buffer(fn, first_capacity):
    """Call fn(buffer, capacity, byref(len_out)) growing the buffer when the
    library asks for more; return the bytes written."""
    capacity = max(16, first_capacity)
    for _ in range(3):
        buf = ctypes.create_string_buffer(capacity)
        n = c_size_t(0)
        status = fn(buf, capacity, byref(n))
        if status == Status.BUFFER_TOO_SMALL and n.value > capacity:
            capacity = n.value
            continue
        _check(status)
        return buf.raw[:n.value]
    raise NexttokError(Status.BUFFER_TOO_SMALL, "the needed buffer size kept growing")


class _Handle:
    """An owned C handle, released once by close() or on garbage collection."""

    _free_name = None

    def __init__(self, ptr, parent=None):
        self._ptr = ptr
        # Handles made from this one (sessions of a model, decoders of a
        # tokenizer) must be released first; they keep their parent alive
        # by a strong reference, the parent tracks them weakly.
        self._children = weakref.WeakSet()
        if parent is not None:
            parent._children.add(self)

    @property
    def _handle(self):
        if not self._ptr:
            raise NexttokError(Status.STATE, "%s is closed" % type(self).__name__)
        return self._ptr

    @property
    def closed(self):
        return not self._ptr

    def close(self):
        for child in list(getattr(self, "_children", ())):
            child.close()
        if getattr(self, "_ptr", None):
            ptr, self._ptr = self._ptr, None
            getattr(_library(), self._free_name)(ptr)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


ModelInfo = namedtuple("ModelInfo", [
    "architecture", "name", "n_vocab", "n_ctx_train", "n_embd", "n_layer",
    "n_head", "n_head_kv", "n_ff", "gguf_version", "n_params", "file_size",
    "head_dim", "features"])

SessionInfo = namedtuple("SessionInfo", [
    "n_ctx", "n_threads", "precision", "kv_type", "kv_bytes", "kv_bytes_per_pos", "scratch_bytes",
    "kv_bytes_held", "kv_bytes_shared", "n_shifted", "context_full"])

TensorInfo = namedtuple("TensorInfo", ["name", "type_name", "shape", "offset", "n_bytes"])

# One scored token (nexttok_token_score): rank is 1 + the tokens with a
# strictly higher logit (ties share the best rank); greedy is rank == 1.
TokenScore = namedtuple("TokenScore", ["token", "logprob", "rank", "greedy"])
# A scored continuation: the sum of logprobs, how many tokens were greedy,
# whether all were, and each token's TokenScore.
Score = namedtuple("Score", ["logprob_sum", "n_greedy", "greedy", "tokens"])
# One ending of Session.choices (nexttok_choice_score), and the picks:
# best by summed log-likelihood (lm-eval's acc), best_norm by it per
# character (acc_norm).
ChoiceScore = namedtuple("ChoiceScore", ["logprob_sum", "logprob_norm", "n_tokens", "greedy", "n_chars"])
Choices = namedtuple("Choices", ["best", "best_norm", "endings"])
# nexttok_perplexity_info; the *_se fields are standard errors.
Perplexity = namedtuple("Perplexity", [
    "perplexity", "perplexity_se", "nll_mean", "nll_se", "nll_sum", "bits_per_byte",
    "n_tokens", "n_scored", "n_bytes", "n_windows", "n_window", "stride"])


def _perplexity_call(fn, n_window, stride, progress):
    """Run fn(params, info) with a progress trampoline; return a Perplexity."""
    lib = _library()
    params = _PerplexityParams()
    lib.nexttok_perplexity_params_init(byref(params), sizeof(params))
    params.n_window = n_window
    params.stride = stride
    raised = []
    if progress is not None:
        def trampoline(fraction, _user):
            try:
                return 1 if progress(fraction) else 0
            except BaseException as e:  # noqa: B902 - re-raised after the run
                raised.append(e)
                return 1
        params.progress = _PROGRESS_FN(trampoline)
    info = _PerplexityInfo()
    info.struct_size = sizeof(info)
    status = fn(byref(params), byref(info))
    if raised:
        raise raised[0]
    _check(status, "perplexity")
    return Perplexity(info.perplexity, info.perplexity_se, info.nll_mean, info.nll_se,
                      info.nll_sum, info.bits_per_byte, info.n_tokens, info.n_scored,
                      info.n_bytes, info.n_windows, info.n_window, info.stride)


class Model(_Handle):
    """A loaded GGUF model (memory-mapped, immutable, shareable)."""

    _free_name = "nexttok_model_free"

    def __init__(self, path, progress=None):
        """Load `path`. progress(fraction) may return True to cancel."""
        lib = _library()
        params = _ModelParams()
        lib.nexttok_model_params_init(byref(params), sizeof(params))
        raised = []
        if progress is not None:
            def trampoline(fraction, _user):
                try:
                    return 1 if progress(fraction) else 0
                except BaseException as e:  # noqa: B902 - re-raised after the load
                    raised.append(e)
                    return 1
            params.progress = _PROGRESS_FN(trampoline)
        ptr = _P()
        status = lib.nexttok_model_load(_path_bytes(path), byref(params), byref(ptr))
        if raised:
            raise raised[0]
        _check(status, "loading %s" % os.fsdecode(path))
        super().__init__(ptr)

    @property
    def info(self):
        raw = _ModelInfo()
        raw.struct_size = ctypes.sizeof(raw)
        _check(_library().nexttok_model_info_get(self._handle, byref(raw)))
        return ModelInfo(
            (raw.architecture or b"").decode("utf-8", "replace"),
            (raw.name or b"").decode("utf-8", "replace"),
            raw.n_vocab, raw.n_ctx_train, raw.n_embd, raw.n_layer, raw.n_head,
            raw.n_head_kv, raw.n_ff, raw.gguf_version, raw.n_params, raw.file_size,
            raw.head_dim, (raw.features or b"").decode("utf-8", "replace"))

    @property
    def architecture(self):
        return (_library().nexttok_model_architecture_get(self._handle) or b"").decode()

    @property
    def n_vocab(self):
        return _library().nexttok_model_n_vocab_get(self._handle)

    @property
    def n_ctx_train(self):
        return _library().nexttok_model_n_ctx_train_get(self._handle)

    @property
    def n_embd(self):
        return _library().nexttok_model_n_embd_get(self._handle)

    def tensors(self):
        """Every tensor's name, type, shape (GGUF order), offset and size."""
        lib = _library()
        out = []
        for i in range(lib.nexttok_model_tensor_count_get(self._handle)):
            raw = _TensorInfo()
            raw.struct_size = ctypes.sizeof(raw)
            _check(lib.nexttok_model_tensor_info_get(self._handle, i, byref(raw)))
            out.append(TensorInfo(raw.name.decode("utf-8", "replace"),
                                  raw.type_name.decode("ascii", "replace"),
                                  tuple(raw.dims[:raw.n_dims]), raw.offset, raw.n_bytes))
        return out

    def metadata(self, value_size=4096):
        """Metadata as a list of (key, rendered value) pairs, in file order."""
        lib = _library()
        out = []
        key = ctypes.create_string_buffer(512)
        value = ctypes.create_string_buffer(value_size)
        for i in range(lib.nexttok_model_meta_count_get(self._handle)):
            _check(lib.nexttok_model_meta_get(self._handle, i, key, len(key), value, len(value)))
            out.append((key.value.decode("utf-8", "replace"),
                        value.value.decode("utf-8", "replace")))
        return out

    def digest(self):
        """BLAKE2b-256 of the whole file (bytes)."""
        d = (c_uint8 * DIGEST_BYTES)()
        _check(_library().nexttok_model_digest_get(self._handle, d))
        return bytes(d)

    def tensor_digest(self, index):
        d = (c_uint8 * DIGEST_BYTES)()
        _check(_library().nexttok_model_tensor_digest_get(self._handle, index, d))
        return bytes(d)

    def verify(self, expected):
        """Raise NexttokError(CHECKSUM) unless the file hashes to `expected`."""
        expected = bytes(expected)
        if len(expected) != DIGEST_BYTES:
            raise ValueError("a digest has %d bytes" % DIGEST_BYTES)
        _check(_library().nexttok_model_verify(
            self._handle, (c_uint8 * DIGEST_BYTES).from_buffer_copy(expected)))

    def session(self, n_ctx=0, n_threads=0, pool=None, precision=Precision.DEFAULT,
                kv_type=KvType.F32, n_batch=0, context_full=ContextFull.ERROR, n_keep=0,
                n_discard=0):
        return Session(self, n_ctx=n_ctx, n_threads=n_threads, pool=pool,
                       precision=precision, kv_type=kv_type, n_batch=n_batch,
                       context_full=context_full, n_keep=n_keep, n_discard=n_discard)

    def tokenizer(self):
        return Tokenizer(self)

    def zip(self, data, **kw):
        """zip_compress(self, data, **kw): `data` compressed with this model."""
        return zip_compress(self, data, **kw)

    def unzip(self, data, **kw):
        """zip_decompress(self, data, **kw): the bytes a zip file holds."""
        return zip_decompress(self, data, **kw)


class Pool(_Handle):
    """Threads that several sessions share (nexttok_pool), so many sessions
    do not oversubscribe the cores. Close it after its sessions."""

    _free_name = "nexttok_pool_free"

    def __init__(self, n_threads=0):
        ptr = _P()
        _check(_library().nexttok_pool_create(n_threads, byref(ptr)), "creating a pool")
        super().__init__(ptr)

    @property
    def n_threads(self):
        return _library().nexttok_pool_n_threads_get(self._handle)


def _session_params(n_ctx=0, n_threads=0, pool=None, precision=Precision.DEFAULT,
                    kv_type=KvType.F32, n_batch=0, context_full=ContextFull.ERROR, n_keep=0,
                    n_discard=0):
    params = _SessionParams()
    _library().nexttok_session_params_init(byref(params), sizeof(params))
    params.n_ctx = n_ctx
    params.n_threads = n_threads
    params.pool = pool._handle if pool is not None else None
    params.precision = int(precision)
    params.kv_type = int(kv_type)
    params.n_batch = n_batch
    params.context_full = int(context_full)
    params.n_keep = n_keep
    params.n_discard = n_discard
    return params


class Session(_Handle):
    """One conversation over a model: its KV cache and position.

    pool: a Pool to run on instead of n_threads threads of its own;
    precision: a Precision (FAST for quantized weights by default);
    kv_type: a KvType for the cache's rows;
    n_batch: tokens per forward call of a long feed (0 = 512; less scratch
    when smaller);
    context_full: a ContextFull; with SHIFT a full context keeps the first
    n_keep tokens and drops n_discard after them (0: half of the rest).

    fork() makes a session sharing this one's cache copy-on-write;
    snapshot() / save() and Session.from_snapshot() / Session.load() turn a
    session into bytes or a file and back."""

    _free_name = "nexttok_session_free"

    def __init__(self, model, n_ctx=0, n_threads=0, pool=None, precision=Precision.DEFAULT,
                 kv_type=KvType.F32, n_batch=0, context_full=ContextFull.ERROR, n_keep=0,
                 n_discard=0):
        params = _session_params(n_ctx=n_ctx, n_threads=n_threads, pool=pool,
                                 precision=precision, kv_type=kv_type, n_batch=n_batch,
                                 context_full=context_full, n_keep=n_keep, n_discard=n_discard)
        ptr = _P()
        _check(_library().nexttok_session_create(model._handle, byref(params), byref(ptr)),
               "creating a session")
        self._adopt(ptr, model, pool)

    def _adopt(self, ptr, model, pool):
        _Handle.__init__(self, ptr, parent=model)
        if pool is not None:
            pool._children.add(self)  # a pool outlives its sessions
            self.pool = pool
        self.model = model  # keeps the model alive as long as the session
        self._n_vocab = model.n_vocab

    @classmethod
    def _wrap(cls, ptr, model, pool):
        obj = cls.__new__(cls)
        obj._adopt(ptr, model, pool)
        return obj

    def fork(self, n_threads=None, pool=None, precision=None):
        """A new Session continuing from this one's position, sharing its KV
        cache copy-on-write (nexttok_session_fork). With no arguments it
        takes this session's threads (or its pool), precision and context
        policy; otherwise n_threads (default 0: all cores), pool and
        precision (default: this session's) are the fork's."""
        ptr = _P()
        if n_threads is None and pool is None and precision is None:
            _check(_library().nexttok_session_fork(self._handle, None, byref(ptr)), "forking")
            pool = getattr(self, "pool", None)
        else:
            params = _session_params(n_threads=n_threads or 0, pool=pool,
                                     precision=Precision.DEFAULT if precision is None else precision)
            _check(_library().nexttok_session_fork(self._handle, byref(params), byref(ptr)),
                   "forking")
        return Session._wrap(ptr, self.model, pool)

    def snapshot(self):
        """The session as bytes (nexttok_session_snapshot_write)."""
        lib = _library()
        size = c_size_t(0)
        _check(lib.nexttok_session_snapshot_write(self._handle, None, 0, byref(size)), "snapshot")
        buf = ctypes.create_string_buffer(max(size.value, 1))
        _check(lib.nexttok_session_snapshot_write(self._handle, buf, size.value, byref(size)),
               "snapshot")
        return buf.raw[:size.value]

    def save(self, path):
        """Write a snapshot to the file `path`."""
        _check(_library().nexttok_session_snapshot_save(self._handle, _path_bytes(path)),
               "saving a snapshot")

    @classmethod
    def from_snapshot(cls, model, data, n_threads=0, pool=None):
        """A new Session from snapshot bytes of `model` (nexttok_session_restore).
        Raises NexttokError with status MODEL_MISMATCH, TRUNCATED, CHECKSUM,
        FORMAT or UNSUPPORTED when the bytes cannot be restored."""
        data = bytes(data)
        params = _session_params(n_threads=n_threads, pool=pool)
        ptr = _P()
        _check(_library().nexttok_session_restore(model._handle, data, len(data), byref(params),
                                                  byref(ptr)), "restoring a snapshot")
        return cls._wrap(ptr, model, pool)

    restore = from_snapshot

    @classmethod
    def load(cls, model, path, n_threads=0, pool=None):
        """A new Session from a snapshot file (nexttok_session_restore_file)."""
        params = _session_params(n_threads=n_threads, pool=pool)
        ptr = _P()
        _check(_library().nexttok_session_restore_file(model._handle, _path_bytes(path),
                                                       byref(params), byref(ptr)),
               "loading a snapshot")
        return cls._wrap(ptr, model, pool)

    def info(self):
        """The session's facts: a SessionInfo (resolved precision, KV type,
        KV bytes per position and in all, scratch bytes, threads)."""
        raw = _SessionInfo()
        raw.struct_size = sizeof(raw)
        _check(_library().nexttok_session_info_get(self._handle, byref(raw)), "session info")
        return SessionInfo(raw.n_ctx, raw.n_threads, Precision(raw.precision), KvType(raw.kv_type),
                           raw.kv_bytes, raw.kv_bytes_per_pos, raw.scratch_bytes,
                           raw.kv_bytes_held, raw.kv_bytes_shared, raw.n_shifted,
                           ContextFull(raw.context_full))

    def feed(self, tokens, logits=False):
        """Feed token ids. With logits=True, return one array.array('f') of
        n_vocab logits per fed token (row i after tokens[0..i])."""
        arr, n = _int32_array(tokens)
        if n == 0:
            return [] if logits else None
        out, capacity = None, 0
        if logits:
            capacity = n * self._n_vocab
            out = (c_float * capacity)()
        _check(_library().nexttok_session_feed(self._handle, arr, n, out, capacity))
        if not logits:
            return None
        flat = array.array("f", bytes(out))
        v = self._n_vocab
        return [flat[i * v:(i + 1) * v] for i in range(n)]

    def feed_text(self, tokenizer, text, add_special=True, parse_special=False):
        data = _text_bytes(text)
        flags = (ENCODE_ADD_SPECIAL if add_special else 0) | \
            (ENCODE_PARSE_SPECIAL if parse_special else 0)
        _check(_library().nexttok_session_text_feed(self._handle, tokenizer._handle, data,
                                                    len(data), flags))

    def logits(self):
        """The logits after the last fed token, as a fresh array.array('f')."""
        ptr = POINTER(c_float)()
        _check(_library().nexttok_session_logits_get(self._handle, byref(ptr)))
        return array.array("f", ctypes.string_at(ptr, 4 * self._n_vocab))

    def logits_numpy(self):
        """The same as logits(), as a numpy float32 array (needs numpy)."""
        import numpy
        return numpy.frombuffer(self.logits().tobytes(), dtype=numpy.float32).copy()

    def probs(self, temperature=1.0):
        out = (c_float * self._n_vocab)()
        _check(_library().nexttok_session_probs_get(self._handle, temperature, out,
                                                    self._n_vocab))
        return array.array("f", bytes(out))

    def topk(self, k, temperature=1.0):
        """[(id, probability)] of the k most probable next tokens."""
        if k <= 0:
            return []
        out = (_TokenProb * k)()
        n = c_size_t(0)
        _check(_library().nexttok_session_topk_get(self._handle, temperature, k, out, byref(n)))
        return [(out[i].id, out[i].prob) for i in range(n.value)]

    @property
    def position(self):
        return _library().nexttok_session_position_get(self._handle)

    @property
    def n_ctx(self):
        return _library().nexttok_session_n_ctx_get(self._handle)

    def rewind(self, n_pos):
        _check(_library().nexttok_session_rewind(self._handle, n_pos))

    def feeder(self, tokens, logits=False):
        """A Feed of `tokens` into this session in steps under time budgets
        (see Feed): `with s.feeder(prompt) as f: while not f.step(4_000_000): ...`."""
        return Feed(self, tokens, logits)

    def cancel(self):
        """Stop this session's running feed from any thread (the feed raises
        NexttokError CANCELLED, or a Feed step returns with status
        CANCELLED); with no feed running, the next feed stops at its start."""
        _check(_library().nexttok_session_cancel(self._handle))

    def reset(self):
        _check(_library().nexttok_session_reset(self._handle))

    def score(self, tokens):
        """Score a continuation after the session's context (which must hold
        at least one token) and feed it: a Score with each token's
        log-probability (natural log, computed in double), rank and greedy
        flag. Rewind to score another continuation after the same context."""
        arr, n = _int32_array(tokens)
        out = (_TokenScore * max(n, 1))()
        info = _ScoreInfo()
        info.struct_size = sizeof(info)
        _check(_library().nexttok_session_score(self._handle, arr, n, out, n, byref(info)),
               "scoring %d tokens" % n)
        return Score(info.logprob_sum, info.n_greedy, bool(info.greedy),
                     [TokenScore(out[i].token, out[i].logprob, out[i].rank, bool(out[i].greedy))
                      for i in range(n)])

    def choices(self, tokenizer, context, endings):
        """Score candidate endings of `context` as lm-evaluation-harness
        scores a multiple-choice item (nexttok_session_choices_score): a
        Choices with the acc and acc_norm picks and each ending's
        ChoiceScore. The session is reset and left holding the context."""
        ctx = context.encode("utf-8")
        raw = [e.encode("utf-8") for e in endings]
        k = len(raw)
        arr = (c_char_p * max(k, 1))(*raw)
        lens = (c_size_t * max(k, 1))(*[len(r) for r in raw])
        out = (_ChoiceScore * max(k, 1))()
        info = _ChoicesInfo()
        info.struct_size = sizeof(info)
        _check(_library().nexttok_session_choices_score(self._handle, tokenizer._handle, ctx, len(ctx), arr, lens,
                                                        k, out, k, byref(info)),
               "scoring %d endings" % k)
        return Choices(info.best, info.best_norm,
                       [ChoiceScore(out[i].logprob_sum, out[i].logprob_norm, out[i].n_tokens, bool(out[i].greedy),
                                    out[i].n_chars) for i in range(k)])

    def perplexity(self, tokens, n_window=0, stride=0, progress=None):
        """Sliding-window perplexity of token ids (see
        nexttok_session_perplexity_compute): windows of n_window tokens
        (0 = the session's n_ctx) every `stride` tokens (0 = n_window // 2).
        progress(fraction) is called after each window and may return True
        to cancel. The session is reset. Returns a Perplexity (bits_per_byte
        0: there is no text)."""
        arr, n = _int32_array(tokens)
        return _perplexity_call(
            lambda p, i: _library().nexttok_session_perplexity_compute(self._handle, arr, n, p, i),
            n_window, stride, progress)

    def perplexity_text(self, tokenizer, text, n_window=0, stride=0, progress=None):
        """The same over a text (str or UTF-8 bytes), tokenized with the
        vocabulary's BOS/EOS; bits_per_byte is over its UTF-8 bytes."""
        data = _text_bytes(text)
        return _perplexity_call(
            lambda p, i: _library().nexttok_session_text_perplexity_compute(
                self._handle, tokenizer._handle, data, len(data), p, i),
            n_window, stride, progress)
    def generate(self, chain, max_tokens, stop=(), constraint=None, mask_stage=None):
        """Yield up to max_tokens tokens drawn by `chain` (a SamplerChain).
        Each is accepted into the chain and fed to the session before it is
        yielded, so the session always holds every yielded token. A token in
        `stop` ends the run and is neither fed nor yielded. Feed the prompt
        first (and chain.accept_many(prompt) if it should count for the
        penalties).

        With a `constraint` (a Constraint, whose context_tokens are the
        prompt to feed), each draw is masked through the chain's mask stage
        (`mask_stage`, needed only when the chain has several; put it first
        so the filters see only allowed tokens) to the tokens that continue
        an ending, each token is accepted into the constraint too, and the
        run ends once an ending is complete with nothing longer continuing
        it: the tokens spell exactly one ending. Where a complete ending is
        a prefix of a longer one, the `stop` tokens are allowed as well and
        end it there."""
        stop = frozenset(stop)
        if constraint is not None:
            mask_stage = chain._stage(mask_stage, "mask")
        for _ in range(max_tokens):
            if constraint is not None:
                index, more = constraint.matched
                if index >= 0 and not more:
                    return
                allowed = constraint.allowed()
                if index >= 0:
                    allowed += sorted(stop)
                chain.set_mask(allowed, mask_stage)
            token = chain.sample(self)
            if token in stop:
                return
            if constraint is not None:
                constraint.accept(token)
            chain.accept(token)
            self.feed([token])
            yield token


def clock_ns():
    """The monotonic clock (nanoseconds) that Feed deadlines use."""
    return _library().nexttok_clock_ns()


def sessions_feed(sessions, tokens, logits=False):
    """Feed tokens[i] to sessions[i] for every session in one forward pass
    (batched decode; sessions of one model, each listed once). Each
    session's logits are bitwise those of feeding it alone. With
    logits=True, return one array.array('f') of n_vocab logits per session."""
    sessions = list(sessions)
    arr, n = _int32_array(tokens)
    if n != len(sessions):
        raise NexttokError(Status.INVALID_ARGUMENT,
                           "%d tokens for %d sessions: one token each" % (n, len(sessions)))
    if n == 0:
        return [] if logits else None
    handles = (_P * n)(*[s._handle for s in sessions])
    v = sessions[0]._n_vocab
    out = (c_float * (n * v))() if logits else None
    _check(_library().nexttok_sessions_feed(handles, arr, n, out, n * v if logits else 0),
           "batched feed")
    if not logits:
        return None
    flat = array.array("f", bytes(out))
    return [flat[i * v:(i + 1) * v] for i in range(n)]


class Batch:
    """n sessions of one model on one shared Pool, decoded together:

        with nexttok.Batch(model, 4, n_ctx=512) as b:
            for i, s in enumerate(b.sessions):
                s.feed(prompts[i])
            rows = b.feed([t0, t1, t2, t3], logits=True)

    Closing it closes the sessions and the pool. Session options
    (n_ctx, precision, kv_type, n_batch) apply to every session."""

    def __init__(self, model, n_sessions, n_threads=0, **session_options):
        self.pool = Pool(n_threads)
        try:
            self.sessions = [Session(model, pool=self.pool, **session_options)
                             for _ in range(n_sessions)]
        except BaseException:
            self.pool.close()
            raise

    def feed(self, tokens, logits=False):
        """sessions_feed(self.sessions, tokens, logits)."""
        return sessions_feed(self.sessions, tokens, logits)

    def close(self):
        for s in getattr(self, "sessions", ()):
            s.close()
        self.pool.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False


class Feed:
    """Tokens fed into a session in steps, each under a time budget, every
    step resuming where the last stopped (nexttok_session_feed_ex); the
    result is bitwise that of one uninterrupted feed.

        with session.feeder(prompt) as f:
            while not f.step(budget_ns=4_000_000):
                draw_frame()

    step() returns True once every token is fed. `consumed` counts the
    tokens fed, `status` is the last step's Status (OK, DEADLINE or
    CANCELLED: a `check` callable returning true, or Session.cancel());
    with logits=True, `logits` holds one array.array('f') per fed token.
    The rows live in one buffer for the whole feed, so a step resumes a
    half-done pass whole. Leaving the `with` block does not feed the rest."""

    def __init__(self, session, tokens, logits=False):
        self.session = session
        self._tokens, self._n = _int32_array(tokens)
        self._v = session._n_vocab
        self._rows = (c_float * (self._n * self._v))() if logits and self._n else None
        self.consumed = 0
        self.status = Status.OK

    @property
    def done(self):
        return self.consumed >= self._n

    def step(self, budget_ns=0, deadline_ns=0, check=None):
        """Feed on until the budget (ns from now) or the deadline
        (clock_ns() time) passes or `check()` returns true; True when all
        tokens are fed. Errors other than a stop raise NexttokError."""
        if self.done:
            return True
        lib = _library()
        params = _FeedParams()
        lib.nexttok_feed_params_init(byref(params), sizeof(params))
        params.budget_ns = budget_ns
        params.deadline_ns = deadline_ns
        trampoline = None  # kept alive for the call
        if check is not None:
            trampoline = _FEED_CHECK_FN(lambda _user: 1 if check() else 0)
            params.check = trampoline
        left = self._n - self.consumed
        toks = ctypes.cast(ctypes.byref(self._tokens, 4 * self.consumed), POINTER(c_int32))
        rows = None
        if self._rows is not None:
            rows = ctypes.cast(ctypes.byref(self._rows, 4 * self.consumed * self._v), POINTER(c_float))
        used = c_size_t(0)
        capacity = left * self._v if rows is not None else 0
        status = lib.nexttok_session_feed_ex(self.session._handle, toks, left, rows, capacity, byref(params),
                                             byref(used))
        self.consumed += used.value
        self.status = Status(status)
        if status not in (Status.OK, Status.DEADLINE, Status.CANCELLED):
            _check(status, "feed")
        return self.done

    @property
    def logits(self):
        if self._rows is None:
            return None
        flat = array.array("f", bytes(self._rows))
        v = self._v
        return [flat[i * v:(i + 1) * v] for i in range(self.consumed)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


class Sampler(_Handle):
    """Draws tokens from a session's logits (its own random state)."""

    _free_name = "nexttok_sampler_free"

    def __init__(self, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=0):
        lib = _library()
        params = _SamplerParams()
        lib.nexttok_sampler_params_init(byref(params), sizeof(params))
        params.temperature = temperature
        params.top_k = top_k
        params.top_p = top_p
        params.min_p = min_p
        params.seed = seed
        ptr = _P()
        _check(lib.nexttok_sampler_create(byref(params), byref(ptr)), "creating a sampler")
        super().__init__(ptr)

    def sample(self, session):
        token = c_int32(-1)
        _check(_library().nexttok_sampler_sample(self._handle, session._handle, byref(token)))
        return token.value


def _float_row(logits, n):
    """A ctypes float array over `logits` (no copy for array('f'), numpy
    float32 or another writable float buffer; a copy otherwise)."""
    try:
        view = memoryview(logits)
    except TypeError:
        view = None
    if view is not None and view.format == "f" and view.ndim == 1 and view.c_contiguous:
        if len(view) != n:
            raise NexttokError(Status.INVALID_ARGUMENT,
                               "a row of %d logits, the chain was made for %d" % (len(view), n))
        if not view.readonly:
            return (c_float * n).from_buffer(view)
        return (c_float * n).from_buffer_copy(view)
    values = list(logits)
    if len(values) != n:
        raise NexttokError(Status.INVALID_ARGUMENT,
                           "a row of %d logits, the chain was made for %d" % (len(values), n))
    return (c_float * n)(*values)


class SamplerChain(_Handle):
    """Sampling stages applied in the order added, then greedy() or dist().

        chain = (nexttok.SamplerChain(model, seed=42)
                 .penalties(last_n=64, repeat=1.1)
                 .temperature(0.8).top_k(40).top_p(0.95).dist())
        chain.accept_many(prompt)
        for token in session.generate(chain, 50, stop={tok.eos}):
            ...

    Each stage's exact rule is in nexttok.h. `n_vocab` is a vocabulary size
    or a Model. Stages are numbered from 0 in the order added; the adding
    methods return the chain, so calls can be chained. A draw does not
    feed the penalties: accept() each token that enters the text
    (Session.generate does)."""

    _free_name = "nexttok_sampler_chain_free"

    def __init__(self, n_vocab, seed=0):
        if isinstance(n_vocab, Model):
            n_vocab = n_vocab.n_vocab
        lib = _library()
        params = _SamplerChainParams()
        lib.nexttok_sampler_chain_params_init(byref(params), sizeof(params))
        params.seed = seed
        ptr = _P()
        _check(lib.nexttok_sampler_chain_create(n_vocab, byref(params), byref(ptr)),
               "creating a sampler chain")
        super().__init__(ptr)

    @classmethod
    def default(cls, n_vocab, temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=0):
        """The chain nexttok.Sampler runs with these values: temperature,
        then top-k, top-p, min-p where set, then dist (greedy alone at
        temperature 0)."""
        if isinstance(n_vocab, Model):
            n_vocab = n_vocab.n_vocab
        lib = _library()
        params = _SamplerParams()
        lib.nexttok_sampler_params_init(byref(params), sizeof(params))
        params.temperature = temperature
        params.top_k = top_k
        params.top_p = top_p
        params.min_p = min_p
        params.seed = seed
        ptr = _P()
        _check(lib.nexttok_sampler_chain_default_create(n_vocab, byref(params), byref(ptr)),
               "creating the default sampler chain")
        self = cls.__new__(cls)
        _Handle.__init__(self, ptr)
        return self

    def _add(self, name, *args):
        _check(getattr(_library(), "nexttok_sampler_chain_%s_add" % name)(self._handle, *args))
        return self

    def temperature(self, t):
        return self._add("temperature", t)

    def top_k(self, k):
        return self._add("top_k", k)

    def top_p(self, p):
        return self._add("top_p", p)

    def min_p(self, p):
        return self._add("min_p", p)

    def typical(self, p):
        return self._add("typical", p)

    def penalties(self, last_n=64, repeat=1.0, frequency=0.0, presence=0.0):
        return self._add("penalties", last_n, repeat, frequency, presence)

    @staticmethod
    def _biases(biases):
        items = list(biases.items()) if hasattr(biases, "items") else list(biases)
        arr = (_LogitBias * max(1, len(items)))()
        for i, (token, bias) in enumerate(items):
            arr[i].token = token
            arr[i].bias = bias
        return arr, len(items)

    def logit_bias(self, biases):
        """biases: {token: bias} or [(token, bias)]; -math.inf bans a token."""
        arr, n = self._biases(biases)
        return self._add("logit_bias", arr, n)

    def mask(self):
        """An allowed-token mask stage (everything allowed until set_mask)."""
        return self._add("mask")

    def greedy(self):
        return self._add("greedy")

    def dist(self):
        return self._add("dist")

    @property
    def stages(self):
        """The stage names in order ("temperature", "top-k", ...)."""
        lib = _library()
        return [lib.nexttok_sampler_chain_stage_name_get(self._handle, i).decode()
                for i in range(lib.nexttok_sampler_chain_n_stages_get(self._handle))]

    @property
    def n_vocab(self):
        return _library().nexttok_sampler_chain_n_vocab_get(self._handle)

    def _stage(self, stage, name):
        if stage is not None:
            return stage
        found = [i for i, s in enumerate(self.stages) if s == name]
        if len(found) != 1:
            raise NexttokError(Status.INVALID_ARGUMENT,
                               "the chain has %d %s stages; give stage=" % (len(found), name))
        return found[0]

    def set_mask(self, allowed, stage=None):
        """Allow exactly the token ids in `allowed` (None allows every
        token). `stage` is needed only when the chain has several masks."""
        stage = self._stage(stage, "mask")
        if allowed is None:
            _check(_library().nexttok_sampler_chain_mask_set(self._handle, stage, None, 0))
            return
        arr, n = _int32_array(allowed)
        _check(_library().nexttok_sampler_chain_mask_tokens_set(self._handle, stage, arr, n))

    def set_logit_bias(self, biases, stage=None):
        stage = self._stage(stage, "logit-bias")
        arr, n = self._biases(biases)
        _check(_library().nexttok_sampler_chain_logit_bias_set(self._handle, stage, arr, n))

    def sample(self, session):
        """Draw from the session's current logits."""
        token = c_int32(-1)
        _check(_library().nexttok_sampler_chain_sample(self._handle, session._handle,
                                                       byref(token)))
        return token.value

    def sample_logits(self, logits):
        """Draw from one row of n_vocab logits (array('f'), numpy float32,
        or any sequence of numbers), e.g. a row of Session.feed(logits=True)."""
        n = self.n_vocab
        row = _float_row(logits, n)
        token = c_int32(-1)
        _check(_library().nexttok_sampler_chain_logits_sample(self._handle, row, n, byref(token)))
        return token.value

    def accept(self, token):
        """Put `token` into the penalties' windows."""
        _check(_library().nexttok_sampler_chain_accept(self._handle, token))

    def accept_many(self, tokens):
        for t in tokens:
            self.accept(t)

    def reset(self):
        """Re-seed the generator and empty the penalties' windows."""
        _check(_library().nexttok_sampler_chain_reset(self._handle))

    def clone(self):
        """An independent copy that continues exactly as this chain would."""
        ptr = _P()
        _check(_library().nexttok_sampler_chain_clone(self._handle, byref(ptr)))
        other = type(self).__new__(type(self))
        _Handle.__init__(other, ptr)
        return other

    def candidates(self):
        """[(id, probability)] the last draw chose from, most probable first."""
        lib = _library()
        n = c_size_t(0)
        status = lib.nexttok_sampler_chain_candidates_get(self._handle, None, 0, byref(n))
        if status not in (Status.OK, Status.BUFFER_TOO_SMALL):
            _check(status)
        out = (_TokenProb * max(1, n.value))()
        _check(lib.nexttok_sampler_chain_candidates_get(self._handle, out, n.value, byref(n)))
        return [(out[i].id, out[i].prob) for i in range(n.value)]


class Tokenizer(_Handle):
    """Text to token ids and back, from a model or a vocabulary-only file."""

    _free_name = "nexttok_tokenizer_free"

    def __init__(self, model):
        ptr = _P()
        _check(_library().nexttok_tokenizer_create(model._handle, byref(ptr)),
               "creating the tokenizer")
        super().__init__(ptr, parent=model)
        self.model = model

    @classmethod
    def load(cls, path):
        ptr = _P()
        _check(_library().nexttok_tokenizer_load(_path_bytes(path), byref(ptr)),
               "loading %s" % os.fsdecode(path))
        self = cls.__new__(cls)
        _Handle.__init__(self, ptr)
        self.model = None
        return self

    def encode(self, text, add_special=True, parse_special=False):
        """Token ids of `text` (str or UTF-8 bytes)."""
        data = _text_bytes(text)
        flags = (ENCODE_ADD_SPECIAL if add_special else 0) | \
            (ENCODE_PARSE_SPECIAL if parse_special else 0)
        capacity = len(data) + 8
        for _ in range(3):
            buf = (c_int32 * capacity)()
            n = c_size_t(0)
            status = _library().nexttok_tokenizer_encode(self._handle, data, len(data), flags,
                                                         buf, capacity, byref(n))
            if status == Status.BUFFER_TOO_SMALL and n.value > capacity:
                capacity = n.value
                continue
            _check(status)
            return list(buf[:n.value])
        raise NexttokError(Status.BUFFER_TOO_SMALL, "the token count kept growing")

    def decode_bytes(self, tokens, skip_special=False):
        arr, n = _int32_array(tokens)
        flags = DECODE_SKIP_SPECIAL if skip_special else 0
        return _call_with_buffer(
            lambda buf, cap, n_out: _library().nexttok_tokenizer_decode(
                self._handle, arr, n, flags, buf, cap, n_out), 16 * n + 16)

    def decode(self, tokens, skip_special=False):
        """Text of token ids (invalid UTF-8 shown as U+FFFD)."""
        return self.decode_bytes(tokens, skip_special).decode("utf-8", "replace")

    def piece(self, token):
        """The raw bytes one token stands for."""
        return _call_with_buffer(
            lambda buf, cap, n_out: _library().nexttok_tokenizer_piece_get(
                self._handle, token, buf, cap, n_out), 64)

    @property
    def n_vocab(self):
        return _library().nexttok_tokenizer_n_vocab_get(self._handle)

    @property
    def bos(self):
        return _library().nexttok_tokenizer_bos_get(self._handle)

    @property
    def eos(self):
        return _library().nexttok_tokenizer_eos_get(self._handle)

    @property
    def unk(self):
        return _library().nexttok_tokenizer_unk_get(self._handle)

    @property
    def pad(self):
        return _library().nexttok_tokenizer_pad_get(self._handle)

    def token_type(self, token):
        raw = _library().nexttok_tokenizer_token_type_get(self._handle, token)
        try:
            return TokenType(raw)
        except ValueError:
            return raw

    def is_control(self, token):
        return bool(_library().nexttok_tokenizer_is_control(self._handle, token))

    def decoder(self, skip_special=False):
        return Decoder(self, skip_special)


class Decoder(_Handle):
    """Streaming detokenizer: push ids, get whole UTF-8 characters back."""

    _free_name = "nexttok_decoder_free"

    def __init__(self, tokenizer, skip_special=False):
        ptr = _P()
        flags = DECODE_SKIP_SPECIAL if skip_special else 0
        _check(_library().nexttok_decoder_create(tokenizer._handle, flags, byref(ptr)),
               "creating a decoder")
        super().__init__(ptr, parent=tokenizer)
        self.tokenizer = tokenizer

    def push(self, token):
        """The text completed by `token` ('' while a character is partial)."""
        # A generous buffer: whether a too-small buffer consumes the token is
        # not specified, so avoid ever asking for a retry.
        cap = 65536
        buf = ctypes.create_string_buffer(cap)
        n = c_size_t(0)
        _check(_library().nexttok_decoder_push(self._handle, token, buf, cap, byref(n)))
        return buf.raw[:n.value].decode("utf-8", "replace")

    def flush(self):
        """What is still held back (incomplete bytes become U+FFFD)."""
        cap = 65536
        buf = ctypes.create_string_buffer(cap)
        n = c_size_t(0)
        _check(_library().nexttok_decoder_flush(self._handle, buf, cap, byref(n)))
        return buf.raw[:n.value].decode("utf-8", "replace")


class Constraint(_Handle):
    """Generation limited to exactly one of several endings of a context
    (nexttok_constraint_*): feed context_tokens, then draw only from
    allowed() and accept() each drawn token until matched names an ending
    with nothing longer continuing it."""

    _free_name = "nexttok_constraint_free"

    def __init__(self, tokenizer, context, endings):
        ctx = context.encode("utf-8")
        raw = [e.encode("utf-8") for e in endings]
        k = len(raw)
        arr = (c_char_p * max(k, 1))(*raw)
        lens = (c_size_t * max(k, 1))(*[len(r) for r in raw])
        ptr = _P()
        _check(_library().nexttok_constraint_choices_create(tokenizer._handle, ctx, len(ctx), arr, lens, k,
                                                            byref(ptr)),
               "building a constraint of %d endings" % k)
        super().__init__(ptr, parent=tokenizer)
        self.endings = list(endings)

    @property
    def context_tokens(self):
        ids = POINTER(c_int32)()
        n = c_size_t(0)
        _check(_library().nexttok_constraint_context_get(self._handle, byref(ids), byref(n)))
        return [ids[i] for i in range(n.value)]

    def allowed(self):
        """The token ids that may come next, ascending."""
        n = c_size_t(0)
        lib = _library()
        status = lib.nexttok_constraint_allowed_get(self._handle, None, 0, byref(n))
        if status not in (0, Status.BUFFER_TOO_SMALL):
            _check(status)
        out = (c_int32 * max(n.value, 1))()
        _check(lib.nexttok_constraint_allowed_get(self._handle, out, n.value, byref(n)))
        return list(out[:n.value])

    def accept(self, token):
        _check(_library().nexttok_constraint_accept(self._handle, token))

    @property
    def matched(self):
        """(index of the ending spelled so far or -1, whether a longer one continues)."""
        more = c_int32(0)
        index = _library().nexttok_constraint_matched_get(self._handle, byref(more))
        return index, bool(more.value)

    def reset(self):
        _library().nexttok_constraint_reset(self._handle)

    def apply(self, chain, stage):
        """Set mask stage `stage` of a SamplerChain to the allowed tokens."""
        _check(_library().nexttok_constraint_mask_apply(self._handle, chain._handle, stage))


# ---- prediction as compression (nexttok_zip_*) ------------------------------

ZIP_HEADER_BYTES = 120


class _ZipParams(Structure):
    _fields_ = [("struct_size", c_size_t), ("n_ctx", c_int32), ("n_threads", c_int32),
                ("pool", c_void_p), ("progress", _PROGRESS_FN), ("progress_user_data", c_void_p)]


class _ZipInfo(Structure):
    _fields_ = [("struct_size", c_size_t), ("version", c_uint32), ("stored", c_int32),
                ("original_len", c_uint64), ("payload_len", c_uint64), ("n_ctx", c_int32),
                ("model_digest", c_uint8 * DIGEST_BYTES), ("checksum", c_uint8 * DIGEST_BYTES)]


_SIGNATURES.update({
    "nexttok_zip_params_init": (None, [POINTER(_ZipParams), c_size_t]),
    "nexttok_zip_bound": (c_size_t, [c_size_t]),
    "nexttok_zip_compress": (c_int, [_P, _P, POINTER(_ZipParams), c_char_p, c_size_t,
                                     POINTER(c_char), c_size_t, POINTER(c_size_t)]),
    "nexttok_zip_info_get": (c_int, [c_char_p, c_size_t, POINTER(_ZipInfo)]),
    "nexttok_zip_decompress": (c_int, [_P, _P, POINTER(_ZipParams), c_char_p, c_size_t,
                                       POINTER(c_char), c_size_t, POINTER(c_size_t)]),
})

# What a zip file's header says (nexttok_zip_info): digests as bytes.
ZipInfo = namedtuple("ZipInfo", ["version", "stored", "original_len", "payload_len", "n_ctx",
                                 "model_digest", "checksum"])


def _zip_call(fn, model, data, n_ctx, n_threads, pool, progress, capacity, what):
    """Run a nexttok_zip_* call into a buffer of `capacity`; the bytes written."""
    lib = _library()
    params = _ZipParams()
    lib.nexttok_zip_params_init(byref(params), sizeof(params))
    params.n_ctx = n_ctx
    params.n_threads = n_threads
    params.pool = pool._handle if pool is not None else None
    raised = []
    if progress is not None:
        def trampoline(fraction, _user):
            try:
                return 1 if progress(fraction) else 0
            except BaseException as e:  # noqa: B902 - re-raised after the call
                raised.append(e)
                return 1
        params.progress = _PROGRESS_FN(trampoline)
    data = bytes(data)
    buf = ctypes.create_string_buffer(max(1, capacity))
    n = c_size_t(0)
    status = fn(model._handle, None, byref(params), data, len(data), buf, capacity, byref(n))
    if raised:
        raise raised[0]
    _check(status, what)
    return buf.raw[:n.value]


def zip_compress(model, data, n_ctx=0, n_threads=0, pool=None, progress=None):
    """Compress `data` (bytes) with `model`'s predictions (nexttok_zip_compress):
    the bytes of a zip file, which zip_decompress with the same model turns
    back into `data` exactly, on any machine. n_ctx: the window (0 = the
    model's context, at most 1024); progress(fraction) may return True to
    cancel."""
    data = bytes(data)
    bound = _library().nexttok_zip_bound(len(data))
    return _zip_call(_library().nexttok_zip_compress, model, data, n_ctx, n_threads, pool,
                     progress, bound, "zip")


def zip_info(data):
    """The header of a zip file (no model needed); raises as unzipping would
    for a damaged, truncated or foreign header."""
    data = bytes(data)
    info = _ZipInfo()
    info.struct_size = sizeof(info)
    _check(_library().nexttok_zip_info_get(data, len(data), byref(info)), "zip header")
    return ZipInfo(info.version, bool(info.stored), info.original_len, info.payload_len,
                   info.n_ctx, bytes(info.model_digest), bytes(info.checksum))


def zip_decompress(model, data, n_threads=0, pool=None, progress=None):
    """The bytes a zip file made with `model` holds (nexttok_zip_decompress).
    Raises NexttokError: MODEL_MISMATCH for another model, TRUNCATED,
    CHECKSUM for a corrupted payload, FORMAT for a damaged header."""
    data = bytes(data)
    size = zip_info(data).original_len
    return _zip_call(_library().nexttok_zip_decompress, model, data, 0, n_threads, pool,
                     progress, size, "unzip")
