/*
 * LD_PRELOAD fix for `openssl s_client -srpuser` in OpenSSL 3.0's apps.
 *
 * apps/lib/tlssrp_depr.c registers `&srp_arg` -- the address of its own
 * pointer parameter, a stack slot that dies when the function returns -- as
 * the SRP callback argument, so the password callback later reads garbage
 * and s_client crashes (SIGSEGV) against any SRP server.  This wrapper
 * registers the pointer stored in that slot instead, which is what the
 * code means; at registration time the slot is still alive.  The library
 * is untouched.  Only for an openssl binary that has the bug: on a fixed
 * one it would break the callback (tests/test_interop.py uses it only
 * after the plain binary crashed).
 *
 *   gcc -shared -fPIC -o srpfix.so tests/openssl_srpfix.c -ldl
 *   LD_PRELOAD=./srpfix.so openssl s_client -srpuser ... -srppass pass:...
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

typedef struct ssl_ctx_st SSL_CTX;

int SSL_CTX_set_srp_cb_arg(SSL_CTX *ctx, void *arg)
{
    static int (*real)(SSL_CTX *, void *);

    if (real == NULL)
        real = (int (*)(SSL_CTX *, void *))dlsym(RTLD_NEXT, "SSL_CTX_set_srp_cb_arg");
    return real(ctx, arg == NULL ? NULL : *(void **)arg);
}
