package io.jvmx.vmx.emulated.differential;

import static io.jvmx.vmx.emulated.differential.FormNames.*;
import static io.jvmx.vmx.emulated.differential.InstructionForm.of;

import io.jvmx.vmx.emulated.differential.Encoder.Mem;
import io.jvmx.vmx.emulated.differential.Encoder.Reg;
import io.jvmx.vmx.emulated.differential.HostCpu.Feature;

import java.math.BigInteger;
import java.util.List;

/**
 * Integer arithmetic and logic (SDM Vol. 2, instruction pages of each mnemonic): ADD OR ADC SBB AND SUB XOR CMP, TEST,
 * INC DEC NEG NOT, MUL IMUL DIV IDIV, XADD CMPXCHG, ADCX ADOX.
 */
final class ArithmeticForms {
    private ArithmeticForms() {
    }

    static void addTo(List<InstructionForm> forms) {
        alu(forms);
        test(forms);
        unary(forms);
        multiply(forms);
        divide(forms);
        exchangeAndAdd(forms);
        compareExchange(forms);
        compareExchangeWide(forms);
        adx(forms);
    }

    /** The eight ALU operations in opcode order: the operation is bits 5:3 of 00-3F and the /digit of 80/81/83. */
    private static final String[] ALU = {"ADD", "OR", "ADC", "SBB", "AND", "SUB", "XOR", "CMP"};

    /**
     * ADD ADC SUB SBB CMP set all six status flags; AND OR XOR set SF ZF PF, clear CF OF, and leave AF undefined
     * (SDM Vol. 2A/2B, the "Flags Affected" of AND, OR, XOR).
     */
    private static void aluFlags(CaseBuilder b, int operation) {
        if (operation == 1 || operation == 4 || operation == 6) {
            b.undefinedFlags(Flags.AF);
        }
    }

    private static void alu(List<InstructionForm> forms) {
        for (int k = 0; k < ALU.length; k++) {
            int op = k;
            String n = ALU[k];
            for (int size : SIZES) {
                int rmR = 8 * op + (size == 1 ? 0x00 : 0x01);
                int rRm = 8 * op + (size == 1 ? 0x02 : 0x03);
                int accImm = 8 * op + (size == 1 ? 0x04 : 0x05);
                int immOpcode = size == 1 ? 0x80 : 0x81;
                int immBytes = Math.min(size, 4);
                for (boolean memory : BOTH) {
                    forms.add(of(name(n, rm(size), r(size), sdm(size, hex(rmR) + " /r"), memory), b -> {
                        b.byteOperands();
                        Mem m = memory ? b.mem(size) : null;
                        Reg dst = memory ? null : b.reg(size);
                        Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                        if (memory) {
                            b.setMem(size, b.value(size));
                        } else {
                            b.set(dst, b.value(size));
                        }
                        b.set(src, b.value(size));
                        aluFlags(b, op);
                        Encoder e = b.encoder(size).operandSize(size).opcode(rmR);
                        return (memory ? e.modrm(src, m) : e.modrm(src, dst)).bytes();
                    }));
                    forms.add(of(name(n, r(size), rm(size), sdm(size, hex(rRm) + " /r"), memory), b -> {
                        b.byteOperands();
                        Mem m = memory ? b.mem(size) : null;
                        Reg dst = b.reg(size);
                        Reg src = memory ? null : b.regOrSame(size, dst);
                        b.set(dst, b.value(size));
                        if (memory) {
                            b.setMem(size, b.value(size));
                        } else {
                            b.set(src, b.value(size));
                        }
                        aluFlags(b, op);
                        Encoder e = b.encoder(size).operandSize(size).opcode(rRm);
                        return (memory ? e.modrm(dst, m) : e.modrm(dst, src)).bytes();
                    }));
                    forms.add(of(name(n, rm(size), imm(size), sdm(size, hex(immOpcode) + " /" + op + " "
                            + immCode(size)), memory), b -> {
                        b.byteOperands();
                        Encoder e = b.encoder(size).operandSize(size).opcode(immOpcode);
                        if (memory) {
                            e.modrm(op, b.mem(size));
                            b.setMem(size, b.value(size));
                        } else {
                            Reg dst = b.reg(size);
                            b.set(dst, b.value(size));
                            e.modrm(op, dst);
                        }
                        aluFlags(b, op);
                        return e.imm(b.value(immBytes), immBytes).bytes();
                    }));
                    if (size > 1) {
                        forms.add(of(name(n, rm(size), "imm8", sdm(size, "83 /" + op + " ib"), memory), b -> {
                            Encoder e = b.encoder(size).operandSize(size).opcode(0x83);
                            if (memory) {
                                e.modrm(op, b.mem(size));
                                b.setMem(size, b.value(size));
                            } else {
                                Reg dst = b.reg(size);
                                b.set(dst, b.value(size));
                                e.modrm(op, dst);
                            }
                            aluFlags(b, op);
                            return e.imm(b.value(1), 1).bytes();
                        }));
                    }
                }
                forms.add(of(n + " " + accumulator(size) + ", " + imm(size) + " (" + sdm(size, hex(accImm) + " "
                        + immCode(size)) + ")", b -> {
                    b.byteOperands(); // 04 ib with and without an (empty) REX prefix
                    b.set(b.fixed(0, size), b.value(size));
                    aluFlags(b, op);
                    return b.encoder(size).operandSize(size).opcode(accImm).imm(b.value(immBytes), immBytes).bytes();
                }));
            }
        }
    }

    /** TEST: as AND without storing the result (SDM Vol. 2B, TEST: AF undefined). */
    private static void test(List<InstructionForm> forms) {
        for (int size : SIZES) {
            int rmR = size == 1 ? 0x84 : 0x85;
            int rmImm = size == 1 ? 0xF6 : 0xF7;
            int accImm = size == 1 ? 0xA8 : 0xA9;
            int immBytes = Math.min(size, 4);
            for (boolean memory : BOTH) {
                forms.add(of(name("TEST", rm(size), r(size), sdm(size, hex(rmR) + " /r"), memory), b -> {
                    b.byteOperands();
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = memory ? null : b.reg(size);
                    Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                    if (memory) {
                        b.setMem(size, b.value(size));
                    } else {
                        b.set(dst, b.value(size));
                    }
                    b.set(src, b.value(size));
                    b.undefinedFlags(Flags.AF);
                    Encoder e = b.encoder(size).operandSize(size).opcode(rmR);
                    return (memory ? e.modrm(src, m) : e.modrm(src, dst)).bytes();
                }));
                forms.add(of(name("TEST", rm(size), imm(size), sdm(size, hex(rmImm) + " /0 " + immCode(size)),
                        memory), b -> {
                    b.byteOperands();
                    Encoder e = b.encoder(size).operandSize(size).opcode(rmImm);
                    unaryOperand(b, e, 0, size, memory);
                    b.undefinedFlags(Flags.AF);
                    return e.imm(b.value(immBytes), immBytes).bytes();
                }));
            }
            forms.add(of("TEST " + accumulator(size) + ", " + imm(size) + " (" + sdm(size, hex(accImm) + " "
                    + immCode(size)) + ")", b -> {
                b.byteOperands(); // A8 ib with and without an (empty) REX prefix
                b.set(b.fixed(0, size), b.value(size));
                b.undefinedFlags(Flags.AF);
                return b.encoder(size).operandSize(size).opcode(accImm).imm(b.value(immBytes), immBytes).bytes();
            }));
        }
    }

    /** ModRM r/m operand (a fresh register or memory) with an operand value; the reg field is {@code digit}. */
    static void unaryOperand(CaseBuilder b, Encoder e, int digit, int size, boolean memory) {
        if (memory) {
            e.modrm(digit, b.mem(size));
            b.setMem(size, b.value(size));
        } else {
            Reg r = b.reg(size);
            b.set(r, b.value(size));
            e.modrm(digit, r);
        }
    }

    /**
     * INC/DEC (FE/FF /0 /1: CF unaffected, the other five set), NOT (F6/F7 /2: no flags), NEG (F6/F7 /3: CF = source
     * is not 0, the others as SUB). All flags are defined (SDM Vol. 2A/2B, INC, DEC, NOT, NEG). The 40-4F one-byte
     * forms of INC/DEC are REX prefixes in 64-bit mode.
     */
    private static void unary(List<InstructionForm> forms) {
        String[] names = {"INC", "DEC", "NOT", "NEG"};
        int[] digits = {0, 1, 2, 3};
        for (int i = 0; i < names.length; i++) {
            int digit = digits[i];
            boolean group3 = digit >= 2;
            for (int size : SIZES) {
                int opcode = group3 ? (size == 1 ? 0xF6 : 0xF7) : (size == 1 ? 0xFE : 0xFF);
                for (boolean memory : BOTH) {
                    forms.add(of(name(names[i], rm(size), null, sdm(size, hex(opcode) + " /" + digit), memory), b -> {
                        b.byteOperands();
                        Encoder e = b.encoder(size).operandSize(size).opcode(opcode);
                        unaryOperand(b, e, digit, size, memory);
                        return e.bytes();
                    }));
                }
            }
        }
    }

    /**
     * MUL (F6/F7 /4) and one-operand IMUL (/5): AX or rDX:rAX := rAX * r/m; CF = OF = the upper half is significant;
     * SF ZF AF PF undefined. Two- and three-operand IMUL (0F AF /r; 6B /r ib; 69 /r iw/id): truncated product, same
     * flags (SDM Vol. 2A, MUL and IMUL).
     */
    private static void multiply(List<InstructionForm> forms) {
        long mulUndefined = Flags.SF | Flags.ZF | Flags.AF | Flags.PF;
        for (String n : new String[] {"MUL", "IMUL"}) {
            int digit = n.equals("MUL") ? 4 : 5;
            for (int size : SIZES) {
                int opcode = size == 1 ? 0xF6 : 0xF7;
                for (boolean memory : BOTH) {
                    forms.add(of(name(n, rm(size), null, sdm(size, hex(opcode) + " /" + digit), memory), b -> {
                        b.byteOperands();
                        Reg acc = b.fixed(0, size);
                        b.reserve(2);
                        b.set(acc, b.value(size));
                        Encoder e = b.encoder(size).operandSize(size).opcode(opcode);
                        if (!memory && b.random.nextInt(8) == 0) {
                            e.modrm(digit, acc); // the accumulator squared
                        } else {
                            unaryOperand(b, e, digit, size, memory);
                        }
                        b.undefinedFlags(mulUndefined);
                        return e.bytes();
                    }));
                }
            }
        }
        for (int size : WIDE_SIZES) {
            for (boolean memory : BOTH) {
                forms.add(of(name("IMUL", r(size), rm(size), sdm(size, "0F AF /r"), memory), b -> {
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = b.reg(size);
                    b.set(dst, b.value(size));
                    Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, 0xAF);
                    if (memory) {
                        b.setMem(size, b.value(size));
                        e.modrm(dst, m);
                    } else {
                        Reg src = b.regOrSame(size, dst);
                        b.set(src, b.value(size));
                        e.modrm(dst, src);
                    }
                    b.undefinedFlags(mulUndefined);
                    return e.bytes();
                }));
                for (boolean imm8 : BOTH) {
                    int opcode = imm8 ? 0x6B : 0x69;
                    int immBytes = imm8 ? 1 : Math.min(size, 4);
                    String immText = imm8 ? "imm8" : imm(size);
                    forms.add(of(name("IMUL", r(size) + ", " + rm(size), immText, sdm(size, hex(opcode) + " /r "
                            + (imm8 ? "ib" : immCode(size))), memory), b -> {
                        Mem m = memory ? b.mem(size) : null;
                        Reg dst = b.reg(size);
                        Encoder e = b.encoder(size).operandSize(size).opcode(opcode);
                        if (memory) {
                            b.setMem(size, b.value(size));
                            e.modrm(dst, m);
                        } else {
                            Reg src = b.regOrSame(size, dst);
                            b.set(src, b.value(size));
                            e.modrm(dst, src);
                        }
                        b.undefinedFlags(mulUndefined);
                        return e.imm(b.value(immBytes), immBytes).bytes();
                    }));
                }
            }
        }
    }

    /**
     * DIV (F6/F7 /6) and IDIV (/7): all six flags undefined (SDM Vol. 2A, DIV and IDIV). A zero divisor or a quotient
     * that does not fit is #DE, which natively is SIGFPE: such operands are rejected here (a fault predicate, not an
     * expected value), and DivideErrorTest checks the interpreter's #DE on its own.
     */
    private static void divide(List<InstructionForm> forms) {
        for (String n : new String[] {"DIV", "IDIV"}) {
            boolean signed = n.equals("IDIV");
            int digit = signed ? 7 : 6;
            for (int size : SIZES) {
                int opcode = size == 1 ? 0xF6 : 0xF7;
                for (boolean memory : BOTH) {
                    forms.add(of(name(n, rm(size), null, sdm(size, hex(opcode) + " /" + digit), memory), b -> {
                        b.byteOperands();
                        // dividend: AX for a byte divisor, else rDX:rAX
                        Reg low = b.fixed(0, size);
                        Reg high = size == 1 ? new Reg(0, 1, true) : b.fixed(2, size);
                        b.reserve(2);
                        Encoder e = b.encoder(size).operandSize(size).opcode(opcode);
                        long divisor = b.value(size);
                        if (divisor == 0) {
                            divisor = 1 + b.random.nextInt(7);
                        }
                        long[] dividend = dividendFor(b, divisor, size, signed);
                        b.set(low, dividend[0]);
                        b.set(high, dividend[1]);
                        if (memory) {
                            e.modrm(digit, b.mem(size));
                            b.setMem(size, divisor);
                        } else {
                            Reg r = b.reg(size);
                            b.set(r, divisor);
                            e.modrm(digit, r);
                        }
                        b.undefinedFlags(Flags.STATUS);
                        // the operands as they finally are in the input (a register may have been chosen twice)
                        long actualDivisor = memory ? b.getMem(size) : divisor;
                        return faults(b.get(high), b.get(low), actualDivisor, size, signed) ? null : e.bytes();
                    }));
                }
            }
        }
    }

    /** A dividend (low, high) whose quotient by {@code divisor} fits, usually; {@link #faults} has the last word. */
    private static long[] dividendFor(CaseBuilder b, long divisor, int size, boolean signed) {
        int bits = 8 * size;
        long m = CaseBuilder.mask(size);
        BigInteger d = signed ? BigInteger.valueOf(divisor << (64 - bits) >> (64 - bits))
                : new BigInteger(Long.toUnsignedString(divisor));
        BigInteger q;
        if (signed) {
            q = BigInteger.valueOf(b.value(size) << (64 - bits) >> (64 - bits));
            if (b.random.nextBoolean()) {
                q = q.shiftRight(b.random.nextInt(bits)); // smaller quotients too
            }
        } else {
            q = new BigInteger(Long.toUnsignedString(b.value(size)));
        }
        BigInteger r = new BigInteger(bits, b.random).mod(d.abs());
        BigInteger n = q.multiply(d);
        n = n.signum() < 0 ? n.subtract(r) : n.add(r); // the remainder has the dividend's sign
        BigInteger twoBits = BigInteger.ONE.shiftLeft(2 * bits);
        BigInteger raw = n.mod(twoBits);
        long low = raw.longValue() & m;
        long high = raw.shiftRight(bits).longValue() & m;
        return new long[] {low, high};
    }

    /** Whether DIV/IDIV of high:low by divisor raises #DE (divisor 0, or a quotient out of range). */
    static boolean faults(long high, long low, long divisor, int size, boolean signed) {
        int bits = 8 * size;
        long m = CaseBuilder.mask(size);
        BigInteger dividend = new BigInteger(Long.toUnsignedString(high & m)).shiftLeft(bits)
                .or(new BigInteger(Long.toUnsignedString(low & m)));
        BigInteger d = new BigInteger(Long.toUnsignedString(divisor & m));
        if (d.signum() == 0) {
            return true;
        }
        if (signed) {
            if (dividend.testBit(2 * bits - 1)) {
                dividend = dividend.subtract(BigInteger.ONE.shiftLeft(2 * bits));
            }
            if (d.testBit(bits - 1)) {
                d = d.subtract(BigInteger.ONE.shiftLeft(bits));
            }
            BigInteger q = dividend.divide(d); // truncates toward zero, as IDIV
            return q.compareTo(BigInteger.ONE.shiftLeft(bits - 1).negate()) < 0
                    || q.compareTo(BigInteger.ONE.shiftLeft(bits - 1).subtract(BigInteger.ONE)) > 0;
        }
        return dividend.divide(d).bitLength() > bits;
    }

    /** XADD (0F C0 /r, 0F C1 /r): exchange, then add; flags as ADD (SDM Vol. 2B, XADD). */
    private static void exchangeAndAdd(List<InstructionForm> forms) {
        for (int size : SIZES) {
            int opcode = size == 1 ? 0xC0 : 0xC1;
            for (boolean memory : BOTH) {
                forms.add(of(name("XADD", rm(size), r(size), sdm(size, "0F " + hex(opcode) + " /r"), memory), b -> {
                    b.byteOperands();
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = memory ? null : b.reg(size);
                    Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                    if (memory) {
                        b.setMem(size, b.value(size));
                    } else {
                        b.set(dst, b.value(size));
                    }
                    b.set(src, b.value(size));
                    Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, opcode);
                    return (memory ? e.modrm(src, m) : e.modrm(src, dst)).bytes();
                }));
            }
        }
    }

    /**
     * CMPXCHG (0F B0 /r, 0F B1 /r): compares the accumulator with r/m; equal: r/m := r, else accumulator := r/m.
     * Flags as CMP (SDM Vol. 2A, CMPXCHG). The accumulator equals r/m in half of the cases.
     */
    private static void compareExchange(List<InstructionForm> forms) {
        for (int size : SIZES) {
            int opcode = size == 1 ? 0xB0 : 0xB1;
            for (boolean memory : BOTH) {
                forms.add(of(name("CMPXCHG", rm(size), r(size), sdm(size, "0F " + hex(opcode) + " /r"), memory),
                        b -> {
                    b.byteOperands();
                    Reg acc = b.fixed(0, size);
                    Mem m = memory ? b.mem(size) : null;
                    Reg dst = memory ? null : b.reg(size);
                    Reg src = memory ? b.reg(size) : b.regOrSame(size, dst);
                    long destination = b.value(size);
                    if (memory) {
                        b.setMem(size, destination);
                    } else {
                        b.set(dst, destination);
                    }
                    b.set(src, b.value(size));
                    b.set(acc, b.random.nextBoolean() ? (memory ? b.getMem(size) : b.get(dst)) : b.value(size));
                    Encoder e = b.encoder(size).operandSize(size).opcode(0x0F, opcode);
                    return (memory ? e.modrm(src, m) : e.modrm(src, dst)).bytes();
                }));
            }
        }
    }

    /**
     * CMPXCHG8B m64 (0F C7 /1): compares EDX:EAX with m64; equal: m64 := ECX:EBX, ZF := 1; else EDX:EAX := m64,
     * ZF := 0. CMPXCHG16B m128 (REX.W 0F C7 /1) the same with RDX:RAX, RCX:RBX and a 16-byte aligned operand (else
     * #GP(0), which the guest tests check). CF PF AF SF OF unchanged (SDM Vol. 2A, CMPXCHG8B/CMPXCHG16B). Equal in
     * half of the cases.
     */
    private static void compareExchangeWide(List<InstructionForm> forms) {
        for (int size : new int[] {8, 16}) {
            int half = size / 2;
            String name = size == 8 ? "CMPXCHG8B m64 (0F C7 /1), memory" : "CMPXCHG16B m128 (REX.W + 0F C7 /1), memory";
            forms.add(of(name, b -> {
                b.reserve(0);
                b.reserve(1);
                b.reserve(2);
                b.reserve(3);
                Mem m = b.memAt(0x100 + size * b.random.nextInt((NativeCpu.DATA_PAGE_BYTES - 0x200) / size), size);
                long low = b.value(half), high = b.value(half);
                b.setData(b.memoryOffset(), half, low);
                b.setData(b.memoryOffset() + half, half, high);
                if (b.random.nextBoolean()) {
                    b.set(new Reg(0, half, false), low);
                    b.set(new Reg(2, half, false), high);
                }
                Encoder e = new Encoder();
                if (size == 16) {
                    e.rexW();
                }
                return e.opcode(0x0F, 0xC7).modrm(1, m).bytes();
            }));
        }
    }

    /**
     * ADCX (66 0F 38 F6 /r): add with CF, writes only CF; ADOX (F3 0F 38 F6 /r): add with OF, writes only OF; the
     * other flags unchanged (SDM Vol. 2A, ADCX and ADOX). CPUID.(EAX=07H, ECX=0):EBX.ADX[bit 19].
     */
    private static void adx(List<InstructionForm> forms) {
        for (String n : new String[] {"ADCX", "ADOX"}) {
            int prefix = n.equals("ADCX") ? 0x66 : 0xF3;
            for (int size : new int[] {4, 8}) {
                for (boolean memory : BOTH) {
                    forms.add(of(name(n, r(size), rm(size), (size == 8 ? hex(prefix) + " REX.W" : hex(prefix))
                            + " 0F 38 F6 /r", memory), Feature.ADX, b -> {
                        Mem m = memory ? b.mem(size) : null;
                        Reg dst = b.reg(size);
                        b.set(dst, b.value(size));
                        Encoder e = new Encoder().prefix(prefix);
                        if (size == 8) {
                            e.rexW();
                        }
                        e.opcode(0x0F, 0x38, 0xF6);
                        if (memory) {
                            b.setMem(size, b.value(size));
                            e.modrm(dst, m);
                        } else {
                            Reg src = b.regOrSame(size, dst);
                            b.set(src, b.value(size));
                            e.modrm(dst, src);
                        }
                        return e.bytes();
                    }));
                }
            }
        }
    }
}
