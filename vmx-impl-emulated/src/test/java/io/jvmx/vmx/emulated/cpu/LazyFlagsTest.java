package io.jvmx.vmx.emulated.cpu;

import static org.junit.Assert.assertEquals;

import org.junit.Test;

/**
 * The lazy status flags against the eager definitions (SDM Vol. 1, 3.4.3.1 and Appendix A "EFLAGS Cross-Reference";
 * the condition codes of Table B-1): for every pair of 8-bit operands, and for edge values of the wider sizes, the
 * flags a lazy description materializes, its CF, and each of the 16 conditions evaluated straight from the
 * description must equal what the flags computed at once say. (The differential tests check the eager formulas
 * against the processor.)
 */
public class LazyFlagsTest {
    private static final long[] EDGES = {0, 1, 2, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, 0x7FFF_FFFFL,
            0x8000_0000L, 0xFFFF_FFFFL, Long.MAX_VALUE, Long.MIN_VALUE, -1L, -2L, 0x1234_5678_9ABC_DEF0L};

    @Test
    public void everyByteOperandPair() {
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                check(a, b, 1);
            }
        }
    }

    @Test
    public void edgeValuesOfTheWiderSizes() {
        for (int size : new int[] {2, 4, 8}) {
            long m = Alu.mask(size);
            for (long a : EDGES) {
                for (long b : EDGES) {
                    check(a & m, b & m, size);
                }
            }
        }
    }

    /** SHL/SHR/SAR: the lazy description against the eager shift of Alu, for every byte and count 1-31. */
    @Test
    public void shifts() {
        Alu alu = new Alu();
        int[] kinds = {CpuState.LAZY_SHL, CpuState.LAZY_SHR, CpuState.LAZY_SAR};
        int[] group2 = {4, 5, 7}; // ModRM.reg of SHL, SHR, SAR
        for (int size : new int[] {1, 2, 4, 8}) {
            long[] values = size == 1 ? java.util.stream.LongStream.range(0, 256).toArray() : EDGES;
            for (long v0 : values) {
                long v = v0 & Alu.mask(size);
                for (int cnt = 1; cnt < (size == 8 ? 64 : 32); cnt++) {
                    for (int k = 0; k < 3; k++) {
                        long before = 0x202 | Alu.CF | Alu.OF;
                        long r = alu.shift(group2[k], v, cnt, size, before);
                        CpuState s = new CpuState();
                        s.setRflags(before);
                        s.lazyFlags(kinds[k], v, cnt, r, size);
                        String ctx = "kind " + k + " size " + size + " v=" + Long.toHexString(v) + " count " + cnt;
                        assertEquals(ctx + ": CF", alu.flags & Alu.CF, s.cf());
                        for (int cc = 0; cc < 16; cc++) {
                            assertEquals(ctx + ": condition " + cc, eagerCondition(alu.flags, cc), s.condition(cc));
                        }
                        assertEquals(ctx, alu.flags, s.rflags());
                    }
                }
            }
        }
    }

    private static void check(long a, long b, int size) {
        long m = Alu.mask(size);
        long other = 0x202; // IF and the fixed bit stay as they are
        for (boolean cfIn : new boolean[] {false, true}) {
            long before = other | (cfIn ? Alu.CF : 0);
            verify("ADD", before, CpuState.LAZY_ADD, a, b, (a + b) & m, size, Alu.addFlags(a, b, (a + b) & m, size));
            verify("SUB", before, CpuState.LAZY_SUB, a, b, (a - b) & m, size, Alu.subFlags(a, b, (a - b) & m, size));
            verify("LOGIC", before, CpuState.LAZY_LOGIC, 0, 0, a & b, size, Alu.szp(a & b, size));
            // ADC keeps the add description with the carry included in the result
            long adc = (a + b + (cfIn ? 1 : 0)) & m;
            long adcFlags = eagerAdc(a, b, cfIn, size);
            verify("ADC", before, CpuState.LAZY_ADD, a, b, adc, size, adcFlags);
            // INC and DEC leave CF alone
            CpuState s = new CpuState();
            s.setRflags(before);
            s.lazyIncDec(false, a, (a + 1) & m, size);
            assertEquals("INC " + a, other | ((Alu.addFlags(a, 1, (a + 1) & m, size) & ~Alu.CF) | (cfIn ? 1 : 0)),
                    s.rflags());
            s.setRflags(before);
            s.lazyIncDec(true, a, (a - 1) & m, size);
            assertEquals("DEC " + a, other | ((Alu.subFlags(a, 1, (a - 1) & m, size) & ~Alu.CF) | (cfIn ? 1 : 0)),
                    s.rflags());
        }
    }

    /** ADC by the book: CF is the carry out of a + b + CF as unbounded integers; OF from the signed sum. */
    private static long eagerAdc(long a, long b, boolean cfIn, int size) {
        long m = Alu.mask(size);
        long c = cfIn ? 1 : 0;
        long r = (a + b + c) & m;
        boolean carry = size == 8 ? Long.compareUnsigned(r, a) < 0 || (cfIn && r == a) : (a + b + c) > m;
        int bits = size * 8;
        long sa = Alu.signExtend(a, size), sb = Alu.signExtend(b, size);
        java.math.BigInteger sum = java.math.BigInteger.valueOf(sa).add(java.math.BigInteger.valueOf(sb))
                .add(java.math.BigInteger.valueOf(c));
        boolean overflow = sum.bitLength() > bits - 1;
        long af = ((a & 0xF) + (b & 0xF) + c) > 0xF ? Alu.AF : 0;
        return (carry ? Alu.CF : 0) | (overflow ? Alu.OF : 0) | af | Alu.szp(r, size);
    }

    private static void verify(String what, long before, int op, long a, long b, long r, int size, long status) {
        CpuState s = new CpuState();
        s.setRflags(before);
        s.lazyFlags(op, a, b, r, size);
        long expected = (before & ~Alu.STATUS) | status;
        String ctx = what + " size " + size + " a=" + Long.toHexString(a) + " b=" + Long.toHexString(b);
        assertEquals(ctx + ": CF", expected & Alu.CF, s.cf());
        for (int cc = 0; cc < 16; cc++) {
            assertEquals(ctx + ": condition " + cc, eagerCondition(expected, cc), s.condition(cc));
        }
        assertEquals(ctx + ": RFLAGS", expected, s.rflags());
    }

    /** Table B-1 on materialized flags. */
    private static boolean eagerCondition(long f, int cc) {
        boolean cf = (f & Alu.CF) != 0, zf = (f & Alu.ZF) != 0, sf = (f & Alu.SF) != 0, of = (f & Alu.OF) != 0;
        boolean pf = (f & Alu.PF) != 0;
        boolean[] base = {of, cf, zf, cf || zf, sf, pf, sf != of, zf || sf != of};
        boolean r = base[cc >>> 1];
        return (cc & 1) != 0 ? !r : r;
    }
}
