/*
 * A test kernel for the software processor's x87: long double arithmetic as GCC compiles it for the x87 alone
 * (no SSE), run natively and on the interpreter by the differential tests (X87Forms). Only correctly rounded
 * operations: the transcendental instructions, which processors round differently, are tested one by one.
 */
typedef long double ld;

static ld poly(ld x) {
    return ((0.5L * x - 1.25L) * x + 3.0L) * x - 0.1L;
}

void x87_kernel(const ld *in, int n, ld *out, long long *ints, int *words, float *floats) {
    double *doubles = (double *) (floats + 16); /* six arguments: all in registers (System V AMD64 ABI) */
    ld acc = 0.0L;
    for (int i = 0; i < n; i++) {
        ld x = in[i];
        ld y = poly(x);
        acc += y / (x * x + 1.0L);
        out[i] = __builtin_sqrtl(x * x + y * y);
        ints[i] = (long long) (y * 1000.0L);
        words[i] = (int) __builtin_rintl(x);
        floats[i] = (float) acc;
        doubles[i] = (double) (y - acc);
        if (x < y) {
            acc -= 0.001L;
        } else if (x > y) {
            acc += __builtin_fabsl(y) * 1e-3L;
        }
        out[n + i] = __builtin_ldexpl(x, i * 7 - 20) + __builtin_floorl(y) - __builtin_ceill(x) + __builtin_truncl(y);
        out[2 * n + i] = __builtin_fmodl(y, x) + __builtin_remainderl(x, y) + (ld) words[i] / 3 + (ld) floats[i];
    }
    out[3 * n] = acc;
}
