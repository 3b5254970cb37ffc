package io.jvmx.vmx.emulated.cpu;

/**
 * Integer arithmetic with the status flags of SDM Vol. 1, 3.4.3.1 and the instruction pages of Vol. 2. Each
 * operation returns its result and leaves the flags it produces pending in this object, so that the caller can
 * {@link #commit} them only after the destination write succeeded (a fault leaves the flags as they were). The common
 * operations (ADD, ADC, SUB, CMP, NEG, AND, OR, XOR, TEST, INC, DEC) leave them as a lazy description that
 * {@link CpuState} evaluates when someone reads a flag; the others compute them at once. Flags the SDM calls undefined
 * get a fixed, documented value (AF = 0 for logic, shifts and multiplies; SF/ZF/PF from the result where the SDM
 * leaves them undefined).
 */
final class Alu {
    static final long CF = 1, PF = 4, AF = 0x10, ZF = 0x40, SF = 0x80, OF = 0x800;
    static final long STATUS = CF | PF | AF | ZF | SF | OF;

    static final int ADD = 0, OR = 1, ADC = 2, SBB = 3, AND = 4, SUB = 5, XOR = 6, CMP = 7;

    /** The RFLAGS value an eager operation produced (valid when {@link #pendingOp} is CpuState.EAGER). */
    long flags;
    /** The pending flags: a CpuState lazy operation, or CpuState.EAGER for {@link #flags}. */
    private int pendingOp;
    private long pa, pb, pr;
    private int psize;
    private boolean pdec;

    /** Makes the pending flags the processor's. */
    void commit(CpuState s) {
        switch (pendingOp) {
            case CpuState.EAGER:
                s.setRflags(flags);
                break;
            case CpuState.LAZY_INC:
            case CpuState.LAZY_DEC:
                s.lazyIncDec(pdec, pa, pr, psize);
                break;
            default:
                s.lazyFlags(pendingOp, pa, pb, pr, psize);
                break;
        }
    }

    private void pend(int op, long a, long b, long r, int size) {
        pendingOp = op;
        pa = a;
        pb = b;
        pr = r;
        psize = size;
    }

    /** Sets eager pending flags (for operations computed elsewhere, like IMUL and the string compares' callers). */
    void eager(long rflags) {
        flags = rflags;
        pendingOp = CpuState.EAGER;
    }

    static long mask(int size) {
        return size == 8 ? -1L : (1L << (size * 8)) - 1;
    }

    static long signExtend(long v, int size) {
        switch (size) {
            case 1: return (byte) v;
            case 2: return (short) v;
            case 4: return (int) v;
            default: return v;
        }
    }

    /** Two- and three-operand IMUL (SDM Vol. 2A IMUL): the signed product truncated to the operand size. */
    static long imulProduct(long a, long b, int size) {
        return signExtend(a, size) * signExtend(b, size) & mask(size);
    }

    /**
     * The status flags of IMUL with product {@code r} ({@link #imulProduct}): CF = OF = 1 where significant bits were
     * lost, SF ZF PF of the result (undefined by the SDM; as current processors set them), AF = 0.
     */
    static long imulFlags(long a, long b, long r, int size) {
        long sa = signExtend(a, size), sb = signExtend(b, size);
        boolean overflow = size == 8 ? Math.multiplyHigh(sa, sb) != (r >> 63) : signExtend(r, size) != sa * sb;
        return (overflow ? CF | OF : 0) | szp(r, size);
    }

    /** SF, ZF and PF of a result (PF looks at the low byte only). */
    static long szp(long r, int size) {
        long f = 0;
        if ((r & mask(size)) == 0) {
            f |= ZF;
        }
        if (((r >>> (size * 8 - 1)) & 1) != 0) {
            f |= SF;
        }
        if ((Integer.bitCount((int) r & 0xFF) & 1) == 0) {
            f |= PF;
        }
        return f;
    }

    static long addFlags(long a, long b, long r, int size) {
        int top = size * 8 - 1;
        long cf = (((a & b) | ((a | b) & ~r)) >>> top) & 1;
        long of = (((a ^ r) & (b ^ r)) >>> top) & 1;
        return cf | (of << 11) | ((a ^ b ^ r) & AF) | szp(r, size);
    }

    static long subFlags(long a, long b, long r, int size) {
        int top = size * 8 - 1;
        long cf = (((~a & b) | ((~a | b) & r)) >>> top) & 1;
        long of = (((a ^ b) & (a ^ r)) >>> top) & 1;
        return cf | (of << 11) | ((a ^ b ^ r) & AF) | szp(r, size);
    }

    /** The eight group-1 operations (ADD, OR, ADC, SBB, AND, SUB, XOR, CMP), in opcode order. */
    long arith(int op, long a, long b, int size, CpuState s) {
        long m = mask(size);
        a &= m;
        b &= m;
        long r;
        switch (op) {
            case ADD:
                r = (a + b) & m;
                pend(CpuState.LAZY_ADD, a, b, r, size);
                break;
            case ADC:
                r = (a + b + s.cf()) & m; // the add-flag formulas hold with a carry in (see CpuState.cf)
                pend(CpuState.LAZY_ADD, a, b, r, size);
                break;
            case SBB: {
                long cin = s.cf();
                r = (a - b - cin) & m;
                // a borrow out when a < b + cin (as unbounded integers); the other flags as for SUB
                long f = subFlags(a, b, r, size) & ~CF;
                boolean borrow = Long.compareUnsigned(a, b) < 0 || (cin != 0 && a == b);
                flags = (s.rflags() & ~STATUS) | f | (borrow ? CF : 0);
                pendingOp = CpuState.EAGER;
                break;
            }
            case SUB:
            case CMP:
                r = (a - b) & m;
                pend(CpuState.LAZY_SUB, a, b, r, size);
                break;
            case OR:
                r = a | b;
                pend(CpuState.LAZY_LOGIC, 0, 0, r, size);
                break;
            case AND:
                r = a & b;
                pend(CpuState.LAZY_LOGIC, 0, 0, r, size);
                break;
            default:
                r = a ^ b;
                pend(CpuState.LAZY_LOGIC, 0, 0, r, size);
                break;
        }
        return r;
    }

    /** INC (dec = false) or DEC: like ADD/SUB 1 but CF is preserved. */
    long incDec(boolean dec, long a, int size) {
        long m = mask(size);
        a &= m;
        long r = dec ? (a - 1) & m : (a + 1) & m;
        pendingOp = dec ? CpuState.LAZY_DEC : CpuState.LAZY_INC;
        pdec = dec;
        pa = a;
        pr = r;
        psize = size;
        return r;
    }

    long neg(long a, int size) {
        long m = mask(size);
        a &= m;
        long r = (-a) & m;
        pend(CpuState.LAZY_SUB, 0, a, r, size);
        return r;
    }

    /** Logic flags for TEST. */
    void logic(long r, int size) {
        pend(CpuState.LAZY_LOGIC, 0, 0, r & mask(size), size);
    }

    /**
     * Group-2 rotates and shifts (ROL ROR RCL RCR SHL SHR SAL SAR by reg-field order). The count is masked to 5 bits
     * (6 with 64-bit operands); a masked count of 0 changes nothing. OF is defined for count 1 only; for larger counts
     * this computes it with the count-1 formula, as current processors do.
     */
    long shift(int op, long v, int count, int size, long rflags) {
        pendingOp = CpuState.EAGER;
        int bits = size * 8;
        long m = mask(size);
        v &= m;
        int cnt = count & (size == 8 ? 0x3F : 0x1F);
        flags = rflags;
        if (cnt == 0) {
            return v;
        }
        long msbShift = bits - 1;
        long r;
        long cf;
        long of;
        switch (op) {
            case 0: { // ROL
                int c = cnt % bits;
                r = c == 0 ? v : ((v << c) | (v >>> (bits - c))) & m;
                cf = r & 1;
                of = ((r >>> msbShift) & 1) ^ cf;
                flags = (rflags & ~(CF | OF)) | cf | (of << 11);
                return r;
            }
            case 1: { // ROR
                int c = cnt % bits;
                r = c == 0 ? v : ((v >>> c) | (v << (bits - c))) & m;
                cf = (r >>> msbShift) & 1;
                of = cf ^ ((r >>> (bits - 2)) & 1);
                flags = (rflags & ~(CF | OF)) | cf | (of << 11);
                return r;
            }
            case 2: { // RCL
                int c = size == 1 ? cnt % 9 : size == 2 ? cnt % 17 : cnt;
                long carry = rflags & CF;
                r = v;
                for (int k = 0; k < c; k++) {
                    long out = (r >>> msbShift) & 1;
                    r = ((r << 1) | carry) & m;
                    carry = out;
                }
                of = ((r >>> msbShift) & 1) ^ carry;
                flags = (rflags & ~(CF | OF)) | carry | (of << 11);
                return r;
            }
            case 3: { // RCR
                int c = size == 1 ? cnt % 9 : size == 2 ? cnt % 17 : cnt;
                long carry = rflags & CF;
                of = ((v >>> msbShift) & 1) ^ carry;
                r = v;
                for (int k = 0; k < c; k++) {
                    long out = r & 1;
                    r = (r >>> 1) | (carry << msbShift);
                    carry = out;
                }
                flags = (rflags & ~(CF | OF)) | carry | (of << 11);
                return r;
            }
            case 4:
            case 6: // SHL/SAL
                r = cnt >= 64 ? 0 : (v << cnt) & m;
                cf = cnt > bits ? 0 : (v >>> (bits - cnt)) & 1;
                of = ((r >>> msbShift) & 1) ^ cf;
                break;
            case 5: // SHR
                r = v >>> cnt;
                cf = (v >>> (cnt - 1)) & 1;
                of = (v >>> msbShift) & 1;
                break;
            default: { // SAR
                long sv = signExtend(v, size);
                r = (sv >> cnt) & m;
                cf = (sv >> (cnt - 1)) & 1;
                of = 0;
                break;
            }
        }
        flags = (rflags & ~STATUS) | cf | (of << 11) | szp(r, size);
        return r;
    }

    /** SHLD (left = true) / SHRD: count masked to 5 (6) bits; 0 changes nothing (SDM Vol. 2B SHLD/SHRD). */
    long doubleShift(boolean left, long dst, long src, int count, int size, long rflags) {
        pendingOp = CpuState.EAGER;
        int bits = size * 8;
        long m = mask(size);
        dst &= m;
        src &= m;
        int cnt = count & (size == 8 ? 0x3F : 0x1F);
        flags = rflags;
        if (cnt == 0) {
            return dst;
        }
        long r;
        long cf;
        if (cnt > bits) {
            // only possible with 16-bit operands; the SDM leaves result and flags undefined: rotate the 32-bit pair
            long wide = left ? (dst << 16) | src : (src << 16) | dst;
            long rot = left ? ((wide << cnt) | (wide >>> (32 - cnt))) & 0xFFFF_FFFFL
                    : ((wide >>> cnt) | (wide << (32 - cnt))) & 0xFFFF_FFFFL;
            r = left ? (rot >>> 16) & m : rot & m;
            cf = left ? (wide >>> (32 - cnt)) & 1 : (wide >>> (cnt - 1)) & 1;
        } else if (cnt == bits) {
            r = src;
            cf = left ? dst & 1 : (dst >>> (bits - 1)) & 1;
        } else if (left) {
            r = ((dst << cnt) | (src >>> (bits - cnt))) & m;
            cf = (dst >>> (bits - cnt)) & 1;
        } else {
            r = ((dst >>> cnt) | (src << (bits - cnt))) & m;
            cf = (dst >>> (cnt - 1)) & 1;
        }
        long of = ((r ^ dst) >>> (bits - 1)) & 1;
        flags = (rflags & ~STATUS) | cf | (of << 11) | szp(r, size);
        return r;
    }
}
