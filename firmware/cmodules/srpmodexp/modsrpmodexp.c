/*
 * srpmodexp: modular exponentiation for SRP, as a MicroPython C module.
 *
 *     ctx = srpmodexp.Context(N)      # per-modulus constants, computed once
 *     ctx.pow(base, exp)              # base ** exp % N, ints in and out
 *
 * Context(N, engine) picks the engine: MONTGOMERY (montgomery.c, constant
 * time: our default) or MBEDTLS (mbedtls_mpi_exp_mod; present when the port
 * links mbedTLS).  DEFAULT names the engine Context(N) uses.  mbedTLS 2.28's
 * exp_mod uses a sliding window, whose sequence of multiplications follows
 * the exponent's bits, so it is not the default on the unix port.  An ESP32
 * build may set SRPMODEXP_DEFAULT_MBEDTLS=1 to hand the work to ESP-IDF's
 * mbedTLS and through it to the chip's RSA accelerator (see README).
 *
 * This module only converts between MicroPython ints and limb arrays and
 * owns no state besides the Context objects; the arithmetic lives in
 * montgomery.c.  Secret-dependent buffers are wiped after every use.
 *
 * Each Montgomery context carries its own work area (table, accumulators,
 * the operands), sized for exponents up to CTX_EXP_BITS: SRP's are 160-256
 * bits.  It is allocated once, with the context (at boot, while the heap is
 * still in one piece), because a per-call allocation of that size (8 KB for
 * a 3072-bit modulus) fails in a fragmented ESP32-sized heap long before
 * the heap is full.  Longer exponents, or a pow while the area is in use,
 * allocate for the call as before.
 */
#include <string.h>

#include "py/runtime.h"
#include "py/objint.h"
#include "py/mpz.h"
#include "montgomery.h"

#if MICROPY_LONGINT_IMPL != MICROPY_LONGINT_IMPL_MPZ
#error "srpmodexp needs MICROPY_LONGINT_IMPL_MPZ (arbitrary-precision ints)"
#endif

#if MICROPY_SSL_MBEDTLS
#include "mbedtls/bignum.h"
#endif

#ifndef SRPMODEXP_DEFAULT_MBEDTLS
#define SRPMODEXP_DEFAULT_MBEDTLS 0
#endif
#if SRPMODEXP_DEFAULT_MBEDTLS && !MICROPY_SSL_MBEDTLS
#error "SRPMODEXP_DEFAULT_MBEDTLS needs a port built with mbedTLS"
#endif

#define ENGINE_MONTGOMERY 0
#define ENGINE_MBEDTLS 1

/* Exponents this long or shorter use the context's work area. */
#define CTX_EXP_BITS 512

/* Moduli up to 8192 bits (the largest RFC 5054 group). */
#define MAX_MODULUS_BITS 8192
#define MAX_LIMBS (MAX_MODULUS_BITS / SRPMM_LIMB_BITS)

typedef struct _srpmodexp_context_obj_t {
    mp_obj_base_t base;
    mp_obj_t n;            /* the modulus as an int */
    size_t len;            /* limbs in n */
    mp_int_t engine;
    srpmm_limb_t ninv;     /* -n^-1 mod 2^SRPMM_LIMB_BITS */
    size_t work;           /* limbs of the work area (0: none) */
    bool busy;             /* the work area is in use */
    srpmm_limb_t limbs[];  /* n (len limbs), R^2 mod n (len limbs), work area */
} srpmodexp_context_obj_t;

static void wipe(void *p, size_t nbytes) {
    /* volatile so the compiler cannot drop stores to memory about to be freed */
    volatile uint8_t *b = p;
    while (nbytes--) {
        *b++ = 0;
    }
}

static void check_nonneg_int(mp_obj_t x, const char *what) {
    if (!mp_obj_is_int(x)) {
        mp_raise_msg_varg(&mp_type_TypeError, MP_ERROR_TEXT("%s must be an int"), what);
    }
    if (mp_obj_int_sign(x) < 0) {
        mp_raise_msg_varg(&mp_type_ValueError, MP_ERROR_TEXT("%s must be >= 0"), what);
    }
}

/* Limbs needed for the non-negative int x (0 for x == 0). */
static size_t int_limbs(mp_obj_t x) {
    size_t bits;
    if (mp_obj_is_small_int(x)) {
        mp_uint_t v = (mp_uint_t)MP_OBJ_SMALL_INT_VALUE(x);
        for (bits = 0; v; bits++) {
            v >>= 1;
        }
    } else {
        const mp_obj_int_t *o = MP_OBJ_TO_PTR(x);
        bits = o->mpz.len * MPZ_DIG_SIZE;
    }
    return (bits + SRPMM_LIMB_BITS - 1) / SRPMM_LIMB_BITS;
}

/* Non-negative int x -> len little-endian limbs (x must fit). */
static void int_to_limbs(mp_obj_t x, srpmm_limb_t *out, size_t len) {
    memset(out, 0, len * sizeof(srpmm_limb_t));
    if (mp_obj_is_small_int(x)) {
        unsigned long long v = (unsigned long long)MP_OBJ_SMALL_INT_VALUE(x);
        for (size_t k = 0; v && k < len; k++) {
            out[k] = (srpmm_limb_t)v;
            v = SRPMM_LIMB_BITS >= 64 ? 0 : v >> (SRPMM_LIMB_BITS % 64);
        }
        return;
    }
    const mpz_t *z = &((const mp_obj_int_t *)MP_OBJ_TO_PTR(x))->mpz;
    srpmm_dlimb_t acc = 0;
    unsigned bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < z->len; i++) {
        acc |= (srpmm_dlimb_t)z->dig[i] << bits;
        bits += MPZ_DIG_SIZE;
        if (bits >= SRPMM_LIMB_BITS) {
            if (k < len) {
                out[k++] = (srpmm_limb_t)acc;
            }
            acc >>= SRPMM_LIMB_BITS;
            bits -= SRPMM_LIMB_BITS;
        }
    }
    if (bits && k < len) {
        out[k] = (srpmm_limb_t)acc;
    }
}

/* len little-endian limbs -> int. */
static mp_obj_t limbs_to_int(const srpmm_limb_t *x, size_t len, byte *buf) {
    size_t top = len;
    while (top > 0 && x[top - 1] == 0) {
        top--;
    }
    if (top * SRPMM_LIMB_BITS <= 64) {
        unsigned long long v = 0;
        for (size_t k = top; k-- > 0;) {
            v = (SRPMM_LIMB_BITS >= 64 ? 0 : v << (SRPMM_LIMB_BITS % 64)) | x[k];
        }
        return mp_obj_new_int_from_ull(v);
    }
    size_t nbytes = top * sizeof(srpmm_limb_t);
    for (size_t i = 0; i < nbytes; i++) {
        buf[i] = (byte)(x[i / sizeof(srpmm_limb_t)] >> (8 * (i % sizeof(srpmm_limb_t))));
    }
    return mp_obj_int_from_bytes_impl(false, nbytes, buf);
}

/* Context(N[, engine]) */
static mp_obj_t context_make_new(const mp_obj_type_t *type, size_t n_args, size_t n_kw,
    const mp_obj_t *args) {
    mp_arg_check_num(n_args, n_kw, 1, 2, false);
    mp_obj_t n = args[0];
    check_nonneg_int(n, "modulus");
    mp_int_t engine = n_args > 1 ? mp_obj_get_int(args[1])
        : (SRPMODEXP_DEFAULT_MBEDTLS ? ENGINE_MBEDTLS : ENGINE_MONTGOMERY);
    if (engine != ENGINE_MONTGOMERY && !(engine == ENGINE_MBEDTLS && MICROPY_SSL_MBEDTLS)) {
        mp_raise_ValueError(MP_ERROR_TEXT("unknown or unavailable engine"));
    }
    size_t len = int_limbs(n);
    if (len > MAX_LIMBS) {
        mp_raise_ValueError(MP_ERROR_TEXT("modulus larger than 8192 bits"));
    }
    if (mp_obj_is_small_int(n) ? MP_OBJ_SMALL_INT_VALUE(n) < 3 : false) {
        mp_raise_ValueError(MP_ERROR_TEXT("modulus must be odd and > 1"));
    }
    /* work area: the operands (len + exponent limbs) and srpmm_modpow's scratch */
    size_t ctx_elen = CTX_EXP_BITS / SRPMM_LIMB_BITS;
    size_t work = engine == ENGINE_MONTGOMERY
        ? len + ctx_elen + srpmm_scratch_limbs(len, srpmm_window(ctx_elen)) : 0;
    srpmodexp_context_obj_t *self = mp_obj_malloc_var(srpmodexp_context_obj_t, limbs,
        srpmm_limb_t, 2 * len + work, type);
    self->n = n;
    self->len = len;
    self->engine = engine;
    self->work = work;
    self->busy = false;
    memset(self->limbs + 2 * len, 0, work * sizeof(srpmm_limb_t));
    srpmm_limb_t *nl = self->limbs;
    int_to_limbs(n, nl, len);
    if ((nl[0] & 1) == 0) {
        mp_raise_ValueError(MP_ERROR_TEXT("modulus must be odd and > 1"));
    }
    self->ninv = srpmm_ninv(nl[0]);
    /* R^2 mod n, once per modulus, with the interpreter's own bignums. */
    mp_obj_t r2 = mp_binary_op(MP_BINARY_OP_LSHIFT, MP_OBJ_NEW_SMALL_INT(1),
        MP_OBJ_NEW_SMALL_INT(2 * SRPMM_LIMB_BITS * len));
    r2 = mp_binary_op(MP_BINARY_OP_MODULO, r2, n);
    int_to_limbs(r2, nl + len, len);
    return MP_OBJ_FROM_PTR(self);
}

static mp_obj_t pow_montgomery(srpmodexp_context_obj_t *self, mp_obj_t base, mp_obj_t exp) {
    size_t len = self->len;
    size_t elen = int_limbs(exp);
    unsigned w = srpmm_window(elen);
    size_t scratch = srpmm_scratch_limbs(len, w);
    size_t total = len + elen + scratch;
    bool own = !self->busy && total <= self->work;
    srpmm_limb_t *mem = own ? self->limbs + 2 * len : m_new(srpmm_limb_t, total);
    self->busy |= own;
    srpmm_limb_t *x = mem, *e = mem + len, *s = e + elen;
    int_to_limbs(base, x, len);
    int_to_limbs(exp, e, elen);
    srpmm_modpow(x, e, elen, self->limbs, self->ninv, self->limbs + len, len, w, s);
    /* the table area is free now: use it as the byte buffer for the result */
    mp_obj_t result;
    if (own) {
        /* limbs_to_int allocates: on MemoryError still wipe and release the area */
        nlr_buf_t nlr;
        if (nlr_push(&nlr) == 0) {
            result = limbs_to_int(x, len, (byte *)s);
            nlr_pop();
        } else {
            wipe(mem, total * sizeof(srpmm_limb_t));
            self->busy = false;
            nlr_jump(nlr.ret_val);
        }
        wipe(mem, total * sizeof(srpmm_limb_t));
        self->busy = false;
    } else {
        result = limbs_to_int(x, len, (byte *)s);
        wipe(mem, total * sizeof(srpmm_limb_t));
        m_del(srpmm_limb_t, mem, total);
    }
    return result;
}

#if MICROPY_SSL_MBEDTLS
static void int_to_mpi(mbedtls_mpi *m, mp_obj_t x, srpmm_limb_t *tmp, size_t len, byte *buf,
    int *err) {
    /* via big-endian bytes: mbedTLS' limb size need not match ours */
    int_to_limbs(x, tmp, len);
    size_t nbytes = len * sizeof(srpmm_limb_t);
    for (size_t i = 0; i < nbytes; i++) {
        size_t j = nbytes - 1 - i;
        buf[i] = (byte)(tmp[j / sizeof(srpmm_limb_t)] >> (8 * (j % sizeof(srpmm_limb_t))));
    }
    if (*err == 0) {
        *err = mbedtls_mpi_read_binary(m, buf, nbytes);
    }
}

static mp_obj_t pow_mbedtls(srpmodexp_context_obj_t *self, mp_obj_t base, mp_obj_t exp) {
    size_t len = self->len;
    size_t elen = int_limbs(exp);
    size_t most = len > elen ? len : elen;
    size_t total = 2 * most; /* limbs, then a byte buffer of as many limbs */
    srpmm_limb_t *mem = m_new(srpmm_limb_t, total);
    srpmm_limb_t *tmp = mem;
    byte *buf = (byte *)(mem + most);
    mbedtls_mpi X, A, E, N;
    mbedtls_mpi_init(&X);
    mbedtls_mpi_init(&A);
    mbedtls_mpi_init(&E);
    mbedtls_mpi_init(&N);
    int err = 0;
    int_to_mpi(&N, self->n, tmp, len, buf, &err);
    int_to_mpi(&A, base, tmp, len, buf, &err);
    int_to_mpi(&E, exp, tmp, elen, buf, &err);
    if (err == 0) {
        err = mbedtls_mpi_exp_mod(&X, &A, &E, &N, NULL);
    }
    size_t nbytes = len * sizeof(srpmm_limb_t);
    if (err == 0) {
        err = mbedtls_mpi_write_binary(&X, buf, nbytes);
    }
    mbedtls_mpi_free(&X);
    mbedtls_mpi_free(&A);
    mbedtls_mpi_free(&E);
    mbedtls_mpi_free(&N);
    mp_obj_t result = MP_OBJ_NULL;
    if (err == 0) {
        /* big-endian bytes -> our limbs -> int (small results as small ints) */
        memset(tmp, 0, len * sizeof(srpmm_limb_t));
        for (size_t i = 0; i < nbytes; i++) {
            size_t j = nbytes - 1 - i;
            tmp[j / sizeof(srpmm_limb_t)] |= (srpmm_limb_t)buf[i] << (8 * (j % sizeof(srpmm_limb_t)));
        }
        result = limbs_to_int(tmp, len, buf);
    }
    wipe(mem, total * sizeof(srpmm_limb_t));
    m_del(srpmm_limb_t, mem, total);
    if (err != 0) {
        mp_raise_msg_varg(&mp_type_RuntimeError, MP_ERROR_TEXT("mbedtls_mpi error -0x%x"), -err);
    }
    return result;
}
#endif

/* ctx.pow(base, exp) -> base ** exp % N (0 ** 0 is 1, as in CPython) */
static mp_obj_t context_pow(mp_obj_t self_in, mp_obj_t base, mp_obj_t exp) {
    srpmodexp_context_obj_t *self = MP_OBJ_TO_PTR(self_in);
    if (!mp_obj_is_int(base)) {
        mp_raise_TypeError(MP_ERROR_TEXT("base must be an int"));
    }
    check_nonneg_int(exp, "exponent");
    if (int_limbs(exp) > MAX_LIMBS) {
        mp_raise_ValueError(MP_ERROR_TEXT("exponent larger than 8192 bits"));
    }
    /* base >= n or negative: reduce first (base is public in SRP: A, g, v) */
    base = mp_binary_op(MP_BINARY_OP_MODULO, base, self->n);
    #if MICROPY_SSL_MBEDTLS
    if (self->engine == ENGINE_MBEDTLS) {
        return pow_mbedtls(self, base, exp);
    }
    #endif
    return pow_montgomery(self, base, exp);
}
static MP_DEFINE_CONST_FUN_OBJ_3(context_pow_obj, context_pow);

static const mp_rom_map_elem_t context_locals_dict_table[] = {
    { MP_ROM_QSTR(MP_QSTR_pow), MP_ROM_PTR(&context_pow_obj) },
};
static MP_DEFINE_CONST_DICT(context_locals_dict, context_locals_dict_table);

MP_DEFINE_CONST_OBJ_TYPE(
    srpmodexp_context_type,
    MP_QSTR_Context,
    MP_TYPE_FLAG_NONE,
    make_new, context_make_new,
    locals_dict, &context_locals_dict
    );

static const mp_rom_map_elem_t srpmodexp_globals_table[] = {
    { MP_ROM_QSTR(MP_QSTR___name__), MP_ROM_QSTR(MP_QSTR_srpmodexp) },
    { MP_ROM_QSTR(MP_QSTR_Context), MP_ROM_PTR(&srpmodexp_context_type) },
    { MP_ROM_QSTR(MP_QSTR_MONTGOMERY), MP_ROM_INT(ENGINE_MONTGOMERY) },
    #if MICROPY_SSL_MBEDTLS
    { MP_ROM_QSTR(MP_QSTR_MBEDTLS), MP_ROM_INT(ENGINE_MBEDTLS) },
    #endif
    { MP_ROM_QSTR(MP_QSTR_DEFAULT), MP_ROM_INT(SRPMODEXP_DEFAULT_MBEDTLS ? ENGINE_MBEDTLS : ENGINE_MONTGOMERY) },
    { MP_ROM_QSTR(MP_QSTR_LIMB_BITS), MP_ROM_INT(SRPMM_LIMB_BITS) },
};
static MP_DEFINE_CONST_DICT(srpmodexp_globals, srpmodexp_globals_table);

const mp_obj_module_t srpmodexp_module = {
    .base = { &mp_type_module },
    .globals = (mp_obj_dict_t *)&srpmodexp_globals,
};

MP_REGISTER_MODULE(MP_QSTR_srpmodexp, srpmodexp_module);
