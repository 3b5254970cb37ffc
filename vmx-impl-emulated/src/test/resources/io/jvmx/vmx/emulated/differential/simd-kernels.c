/*
 * Compiler output for the differential tests (see CompiledKernelForms): a function of ordinary C, compiled by gcc
 * with SSE4.2 and auto-vectorization (simd-kernels.sh), run on the processor of the machine and on the software
 * processor from the same bytes, on the same random buffer. Its loops and intrinsics are what compiled code and
 * string libraries use: packed float/double arithmetic, conversions, min/max, square roots, integer lanes,
 * shuffles, PCMPEQB/PMOVMSKB scans, PCMPISTRI searches, ROUNDPS, DPPS, HADDPS.
 */
#include <stdint.h>
#include <nmmintrin.h>

struct io {
    float a[32], b[32];
    double c[16], d[16];
    int32_t ints[32];
    uint8_t text[128];
    float fout[32];
    double dout[16];
    int32_t iout[32];
    uint64_t results[16];
};

static uint64_t mix(uint64_t h, uint64_t v) {
    return (h ^ v) * 0x9E3779B97F4A7C15ull;
}

static uint64_t bits(float f) {
    union { float f; uint32_t u; } x = { f };
    return x.u;
}

static uint64_t dbits(double d) {
    union { double d; uint64_t u; } x = { d };
    return x.u;
}

/* strlen with SSE2: 16 bytes at a time, PCMPEQB against zero, PMOVMSKB, BSF */
static unsigned sse2_strlen(const uint8_t *s, unsigned max) {
    const __m128i zero = _mm_setzero_si128();
    for (unsigned i = 0; i + 16 <= max; i += 16) {
        int m = _mm_movemask_epi8(_mm_cmpeq_epi8(_mm_loadu_si128((const __m128i *) (s + i)), zero));
        if (m) {
            return i + __builtin_ctz(m);
        }
    }
    return max;
}

/* strchr-like search with PCMPISTRI (equal any) */
static int find_any(const uint8_t *s, const uint8_t *set) {
    __m128i needles = _mm_loadu_si128((const __m128i *) set);
    return _mm_cmpistri(needles, _mm_loadu_si128((const __m128i *) s),
                        _SIDD_UBYTE_OPS | _SIDD_CMP_EQUAL_ANY | _SIDD_LEAST_SIGNIFICANT);
}

__attribute__((section(".text.entry"), noinline))
uint64_t kernels(struct io *p) {
    uint64_t h = 0;
    float x = p->a[0];
    for (int i = 0; i < 32; i++) {                 /* saxpy: MULPS, ADDPS */
        p->fout[i] = p->a[i] * x + p->b[i];
    }
    double dot = 0;
    for (int i = 0; i < 16; i++) {                 /* a reduction in order: MULSD, ADDSD */
        dot += p->c[i] * p->d[i];
    }
    h = mix(h, dbits(dot));
    for (int i = 0; i < 16; i++) {                 /* SQRTPD, DIVPD */
        p->dout[i] = __builtin_sqrt(p->c[i]) / (p->d[i] + 1.0);
    }
    for (int i = 0; i < 32; i++) {                 /* CVTTPS2DQ, PMULLD, PSRAD, PADDD */
        p->iout[i] = (int32_t) p->a[i] * 3 + (p->ints[i] >> 2);
    }
    for (int i = 0; i < 32; i++) {                 /* CVTDQ2PS, MINPS, MAXPS */
        float f = (float) p->ints[i];
        float m = p->a[i] < p->b[i] ? p->a[i] : p->b[i];
        h = mix(h, bits(f > m ? f : m));
    }
    for (int i = 0; i < 16; i++) {                 /* CVTPD2PS, CVTPS2PD */
        h = mix(h, bits((float) p->c[i]) + dbits((double) p->a[i]));
    }
    unsigned counts = 0;
    for (int i = 0; i < 128; i++) {                /* byte compares: PCMPGTB, PSUBB, PSADBW or PMOVMSKB */
        counts += p->text[i] > 'a';
    }
    h = mix(h, counts);
    h = mix(h, sse2_strlen(p->text, 128));
    static const uint8_t vowels[16] = "aeiouAEIOU";
    h = mix(h, (uint64_t) find_any(p->text, vowels));
    __m128i t = _mm_loadu_si128((const __m128i *) p->text);
    __m128i u = _mm_loadu_si128((const __m128i *) (p->text + 16));
    __m128i rev = _mm_shuffle_epi8(t, _mm_set_epi8(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15));
    __m128i al = _mm_alignr_epi8(u, t, 5);
    __m128i lo = _mm_unpacklo_epi8(t, u);
    __m128i mx = _mm_max_epu8(_mm_min_epi8(t, u), _mm_avg_epu8(t, u));
    _mm_storeu_si128((__m128i *) &p->results[0], rev);
    _mm_storeu_si128((__m128i *) &p->results[2], al);
    _mm_storeu_si128((__m128i *) &p->results[4], lo);
    _mm_storeu_si128((__m128i *) &p->results[6], _mm_sad_epu8(mx, _mm_abs_epi8(t)));
    __m128 fa = _mm_loadu_ps(p->a), fb = _mm_loadu_ps(p->b);
    __m128 r0 = _mm_round_ps(fa, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m128 r1 = _mm_round_ps(fb, _MM_FROUND_TO_NEG_INF);
    __m128 dp = _mm_dp_ps(fa, fb, 0xF1);
    __m128 hs = _mm_hadd_ps(fa, fb);
    _mm_storeu_ps((float *) &p->results[8], _mm_add_ps(r0, r1));
    _mm_storeu_ps((float *) &p->results[10], _mm_blend_ps(dp, hs, 0x6));
    __m128d dd = _mm_loadu_pd(p->c);
    _mm_storeu_pd((double *) &p->results[12], _mm_addsub_pd(dd, _mm_loadu_pd(p->d)));
    h = mix(h, (uint64_t) _mm_movemask_ps(_mm_cmplt_ps(fa, fb)));
    h = mix(h, (uint64_t) _mm_comilt_sd(dd, _mm_loadu_pd(p->d)));
    p->results[14] = h;
    return h ^ counts;
}
