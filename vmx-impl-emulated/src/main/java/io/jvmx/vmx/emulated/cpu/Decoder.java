package io.jvmx.vmx.emulated.cpu;

import io.jvmx.vmx.api.arch.Exceptions;

/**
 * Decodes the bytes of one instruction into an {@link Insn} (SDM Vol. 2, chapter 2; opcode maps in Vol. 2D, Appendix
 * A): legacy prefixes, REX, VEX, the opcode in its map, ModRM, SIB, displacement and immediates. Decoding only finds
 * the instruction's structure and length; whether the instruction exists, is allowed in this mode or at this CPL is
 * for execution to say (#UD there, with the instruction's RIP).
 *
 * <p>Faults of decoding itself: an instruction longer than 15 bytes is #GP(0) (SDM Vol. 2, 2.3.11); a fetch fault
 * (#PF, a VM exit for an EPT violation) comes from {@link CodeBytes} while the bytes are read.
 */
final class Decoder {

    /** Where the bytes come from: the byte at {@code offset} from the start of the instruction (0-14). */
    interface CodeBytes {
        int at(int offset);
    }

    // attributes of an opcode (SDM Vol. 2D, A.2.1 and A.2.2: the operand-type codes that mean bytes in the stream)
    private static final int M = 1;           // ModRM follows
    private static final int IB = 1 << 1;     // Ib: 8-bit immediate
    private static final int IW = 1 << 2;     // Iw: 16-bit immediate
    private static final int IZ = 1 << 3;     // Iz: 16-bit (66H) or 32-bit immediate
    private static final int IV = 1 << 4;     // Iv: 16, 32 or 64-bit immediate (MOV r, imm)
    private static final int MOFFS = 1 << 5;  // Ob/Ov: an address-size offset (MOV AL/rAX <-> moffs)
    private static final int FAR = 1 << 6;    // Ap: ptr16:16 or ptr16:32
    private static final int ENTER = 1 << 7;  // Iw, Ib
    private static final int JB = 1 << 8;     // Jb: rel8
    private static final int JZ = 1 << 9;     // Jz: rel16 or rel32 (rel32 in 64-bit mode)
    private static final int GRP3 = 1 << 10;  // F6/F7: the immediate exists for /0 and /1 (TEST) only
    private static final int MREG = 1 << 11;  // MOV CR/DR: ModRM.mod is ignored, the operand is always a register

    private static final int[] ONE = new int[256];
    private static final int[] TWO = new int[256];

    static {
        // ---- one-byte map (Table A-2)
        for (int row = 0; row < 0x40; row += 8) {
            ONE[row] = ONE[row + 1] = ONE[row + 2] = ONE[row + 3] = M; // ALU Eb,Gb / Ev,Gv / Gb,Eb / Gv,Ev
            ONE[row + 4] = IB;                                          // AL, Ib
            ONE[row + 5] = IZ;                                          // rAX, Iz
        }
        ONE[0x62] = M;                       // BOUND
        ONE[0x63] = M;                       // ARPL / MOVSXD
        ONE[0x68] = IZ;
        ONE[0x69] = M | IZ;
        ONE[0x6A] = IB;
        ONE[0x6B] = M | IB;
        for (int b = 0x70; b <= 0x7F; b++) {
            ONE[b] = JB;
        }
        ONE[0x80] = M | IB;
        ONE[0x81] = M | IZ;
        ONE[0x82] = M | IB;
        ONE[0x83] = M | IB;
        for (int b = 0x84; b <= 0x8F; b++) {
            ONE[b] = M;
        }
        ONE[0x9A] = FAR;
        ONE[0xA0] = ONE[0xA1] = ONE[0xA2] = ONE[0xA3] = MOFFS;
        ONE[0xA8] = IB;
        ONE[0xA9] = IZ;
        for (int b = 0xB0; b <= 0xB7; b++) {
            ONE[b] = IB;
        }
        for (int b = 0xB8; b <= 0xBF; b++) {
            ONE[b] = IV;
        }
        ONE[0xC0] = ONE[0xC1] = M | IB;
        ONE[0xC2] = IW;
        ONE[0xC4] = ONE[0xC5] = M;           // LES, LDS (VEX is recognised before this table is read)
        ONE[0xC6] = M | IB;
        ONE[0xC7] = M | IZ;
        ONE[0xC8] = ENTER;
        ONE[0xCA] = IW;
        ONE[0xCD] = IB;
        ONE[0xD0] = ONE[0xD1] = ONE[0xD2] = ONE[0xD3] = M;
        ONE[0xD4] = ONE[0xD5] = IB;          // AAM, AAD
        for (int b = 0xD8; b <= 0xDF; b++) {
            ONE[b] = M;                      // x87 escape
        }
        ONE[0xE0] = ONE[0xE1] = ONE[0xE2] = ONE[0xE3] = JB;
        ONE[0xE4] = ONE[0xE5] = ONE[0xE6] = ONE[0xE7] = IB;
        ONE[0xE8] = ONE[0xE9] = JZ;
        ONE[0xEA] = FAR;
        ONE[0xEB] = JB;
        ONE[0xF6] = M | IB | GRP3;
        ONE[0xF7] = M | IZ | GRP3;
        ONE[0xFE] = ONE[0xFF] = M;

        // ---- two-byte map 0F xx (Table A-3): ModRM unless listed otherwise
        for (int b = 0; b < 256; b++) {
            TWO[b] = M;
        }
        for (int b : new int[] {0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0A, 0x0B, 0x0E, 0x30, 0x31, 0x32, 0x33, 0x34,
                0x35, 0x36, 0x37, 0x77, 0xA0, 0xA1, 0xA2, 0xA8, 0xA9, 0xAA}) {
            TWO[b] = 0;
        }
        for (int b = 0xC8; b <= 0xCF; b++) {
            TWO[b] = 0;                      // BSWAP
        }
        for (int b = 0x80; b <= 0x8F; b++) {
            TWO[b] = JZ;                     // Jcc rel16/32
        }
        for (int b = 0x20; b <= 0x23; b++) {
            TWO[b] = M | MREG;               // MOV to/from CR, DR
        }
        for (int b : new int[] {0x0F, 0x70, 0x71, 0x72, 0x73, 0xA4, 0xAC, 0xBA, 0xC2, 0xC4, 0xC5, 0xC6}) {
            TWO[b] = M | IB;                 // 0F 0F is 3DNow! (ModRM, then its opcode as Ib)
        }
    }

    /**
     * Opcodes after which a block of instructions ends ({@link Insn#endsBlock}): everything that may change the mode
     * (CR0, EFER, CS, SS and CPL, RFLAGS.IF/AC/TF/VM), the interruptibility state, the activity state, the VMX
     * controls' view of the guest, or the translation of the code being fetched. Only plain computation, memory,
     * stack, branch, string and I/O instructions continue a block; an exception or VM exit ends it anyway.
     */
    private static final boolean[] ENDS_1 = new boolean[256];
    private static final boolean[] ENDS_0F = new boolean[256];

    static {
        for (int b : new int[] {
                0x07, 0x17, 0x1F,                   // POP ES, SS, DS
                0x8E,                               // MOV Sreg, Ew
                0x9A, 0xCA, 0xCB, 0xEA,             // far CALL, RET, JMP
                0x9D, 0xCF,                         // POPF, IRET
                0xCC, 0xCD, 0xCE, 0xF1,             // INT3, INT n, INTO, INT1
                0xF4, 0xFA, 0xFB}) {                // HLT, CLI, STI
            ENDS_1[b] = true;
        }
        for (int b : new int[] {
                0x00, 0x01,                         // groups 6 and 7: LLDT, LTR, LGDT, LIDT, LMSW, INVLPG, SWAPGS, ...
                0x05, 0x06, 0x07, 0x08, 0x09,       // SYSCALL, CLTS, SYSRET, INVD, WBINVD
                0x20, 0x21, 0x22, 0x23,             // MOV CR, MOV DR
                0x30, 0x34, 0x35, 0x37,             // WRMSR, SYSENTER, SYSEXIT, GETSEC
                0x78, 0x79,                         // VMREAD, VMWRITE
                0xA1, 0xA9,                         // POP FS, POP GS
                0xB2, 0xB4, 0xB5}) {                // LSS, LFS, LGS
            ENDS_0F[b] = true;
        }
    }

    private Decoder() {
    }

    /**
     * Decodes one instruction in {@code mode} ({@link Insn#MODE16}, {@link Insn#MODE32}, {@link Insn#MODE64}) into
     * {@code i}, reading its bytes from {@code code}.
     *
     * @throws CpuFault #GP(0) for an instruction longer than 15 bytes, or whatever {@code code} throws
     */
    static void decode(Insn i, int mode, CodeBytes code, CpuFault fault) {
        boolean mode64 = mode == Insn.MODE64;
        int len = 0;
        int segOv = -1;
        boolean lock = false, opPrefix = false, adPrefix = false;
        int rep = 0;
        int rex = 0;
        int b;
        prefixes:
        for (;;) {
            b = byteAt(code, len++, fault);
            switch (b) {
                case 0x66: opPrefix = true; rex = 0; break;
                case 0x67: adPrefix = true; rex = 0; break;
                case 0xF0: lock = true; rex = 0; break;
                case 0xF2: case 0xF3: rep = b; rex = 0; break;
                // ES, CS, SS, DS overrides are null prefixes in 64-bit mode (SDM Vol. 1, 3.3.7.1)
                case 0x26: if (!mode64) { segOv = CpuState.ES; } rex = 0; break;
                case 0x2E: if (!mode64) { segOv = CpuState.CS; } rex = 0; break;
                case 0x36: if (!mode64) { segOv = CpuState.SS; } rex = 0; break;
                case 0x3E: if (!mode64) { segOv = CpuState.DS; } rex = 0; break;
                case 0x64: segOv = CpuState.FS; rex = 0; break;
                case 0x65: segOv = CpuState.GS; rex = 0; break;
                default:
                    if (mode64 && (b & 0xF0) == 0x40) {
                        rex = b; // REX counts only right before the opcode: a later prefix cancels it (2.2.1)
                        break;
                    }
                    break prefixes;
            }
        }
        i.mode = mode;
        i.segOv = segOv;
        i.lock = lock;
        i.rep = rep;
        i.opPrefix = opPrefix;
        i.adPrefix = adPrefix;
        i.vex = false;
        i.vexBadPrefix = false;
        i.vvvv = 15;
        i.vexL = 0;
        i.imm = 0;
        i.imm2 = 0;

        int map = Insn.MAP_1;
        int attr;
        if (b == 0x0F) {
            b = byteAt(code, len++, fault);
            if (b == 0x38 || b == 0x3A) {
                map = b == 0x38 ? Insn.MAP_0F38 : Insn.MAP_0F3A;
                b = byteAt(code, len++, fault);
                attr = map == Insn.MAP_0F38 ? M : M | IB;
            } else {
                map = Insn.MAP_0F;
                attr = TWO[b];
            }
        } else if ((b == 0xC4 || b == 0xC5) && (mode64 || (byteAt(code, len, fault) & 0xC0) == 0xC0)) {
            // VEX (2.3.5): outside 64-bit mode C4/C5 with ModRM.mod != 11b are LES/LDS. REX before VEX is #UD (at
            // execution: the decoder keeps the REX bits VEX carries instead).
            int p1 = byteAt(code, len++, fault);
            int r, x, bb, w, vvvv, l, pp;
            int mmmmm;
            if (b == 0xC5) {
                r = (~p1 >>> 7) & 1;
                x = 0;
                bb = 0;
                w = 0;
                mmmmm = 1;
                vvvv = (~p1 >>> 3) & 15;
                l = (p1 >>> 2) & 1;
                pp = p1 & 3;
            } else {
                int p2 = byteAt(code, len++, fault);
                r = (~p1 >>> 7) & 1;
                x = (~p1 >>> 6) & 1;
                bb = (~p1 >>> 5) & 1;
                mmmmm = p1 & 0x1F;
                w = (p2 >>> 7) & 1;
                vvvv = (~p2 >>> 3) & 15;
                l = (p2 >>> 2) & 1;
                pp = p2 & 3;
            }
            if (!mode64) {
                r = x = bb = 0; // outside 64-bit mode the inverted bits must be 1 and are ignored
                vvvv &= 7;
            }
            i.vex = true;
            i.vvvv = vvvv;
            i.vexL = l;
            // LOCK, 66, F2, F3 or REX before VEX make the instruction #UD (2.3.2): execution checks this
            i.vexBadPrefix = lock || opPrefix || rep != 0 || rex != 0;
            rex = 0x40 | (w << 3) | (r << 2) | (x << 1) | bb;
            i.opPrefix = opPrefix = pp == 1; // VEX.pp stands for the implied 66, F3, F2 prefix
            i.rep = rep = pp == 2 ? 0xF3 : pp == 3 ? 0xF2 : 0;
            b = byteAt(code, len++, fault);
            switch (mmmmm) {
                case 1: map = Insn.MAP_0F; attr = TWO[b]; break;
                case 2: map = Insn.MAP_0F38; attr = M; break;
                case 3: map = Insn.MAP_0F3A; attr = M | IB; break;
                default: map = -1; attr = M; break; // reserved map: #UD at execution
            }
        } else {
            attr = ONE[b];
        }
        i.map = map;
        i.opcode = b;
        i.rex = rex;

        int opSize, addrSize;
        if (mode64) {
            opSize = (rex & 8) != 0 ? 8 : opPrefix ? 2 : 4;
            addrSize = adPrefix ? 4 : 8;
        } else {
            boolean big = mode == Insn.MODE32;
            opSize = big ^ opPrefix ? 4 : 2;
            addrSize = big ^ adPrefix ? 4 : 2;
        }
        i.opSize = opSize;
        i.addrSize = addrSize;

        i.hasModrm = (attr & M) != 0;
        i.base = -1;
        i.index = -1;
        i.scale = 0;
        i.sibBase = -1;
        i.ripRel = false;
        i.disp = 0;
        i.eaSeg = segOv >= 0 ? segOv : CpuState.DS;
        i.modrm = 0;
        i.mod = 3;
        i.reg = 0;
        i.rm = 0;
        if (i.hasModrm) {
            len = modrm(i, code, len, (attr & MREG) != 0, fault);
        }

        // immediates, in the order the opcode map gives them
        if ((attr & GRP3) != 0 && i.regOp() > 1) {
            attr &= ~(IB | IZ);
        }
        if ((attr & (IB | JB)) != 0) {
            i.imm = (byte) byteAt(code, len++, fault);
        } else if ((attr & IW) != 0) {
            i.imm = read(code, len, 2, fault);
            len += 2;
        } else if ((attr & IZ) != 0 || ((attr & JZ) != 0)) {
            int n = (attr & JZ) != 0 && mode64 ? 4 : opSize == 2 ? 2 : 4; // Intel ignores 66H on branches in 64-bit mode
            long v = read(code, len, n, fault);
            i.imm = n == 2 ? (short) v : (int) v;
            len += n;
        } else if ((attr & IV) != 0) {
            i.imm = read(code, len, opSize, fault);
            len += opSize;
        } else if ((attr & MOFFS) != 0) {
            i.imm = read(code, len, addrSize, fault);
            len += addrSize;
        } else if ((attr & FAR) != 0) {
            int n = opSize == 2 ? 2 : 4;
            i.imm = read(code, len, n, fault);
            len += n;
            i.imm2 = read(code, len, 2, fault);
            len += 2;
        } else if ((attr & ENTER) != 0) {
            i.imm = read(code, len, 2, fault);
            len += 2;
            i.imm2 = byteAt(code, len++, fault);
        }
        i.len = len;
        i.endsBlock = map == Insn.MAP_1 ? ENDS_1[b] || (b == 0xFF && (i.regOp() == 3 || i.regOp() == 5))
                : map == Insn.MAP_0F ? ENDS_0F[b]
                : map == Insn.MAP_0F38 && b == 0x82; // INVPCID: may invalidate the translation of this code
        i.op = OpTable.select(i);
    }

    /** ModRM, SIB and displacement (SDM Vol. 2, 2.1.5 Tables 2-1 to 2-3; 2.2.1.6 RIP-relative). */
    private static int modrm(Insn i, CodeBytes code, int len, boolean alwaysRegister, CpuFault fault) {
        int m = byteAt(code, len++, fault);
        int rex = i.rex;
        i.modrm = m;
        int mod = alwaysRegister ? 3 : m >>> 6;
        i.mod = mod;
        i.reg = ((m >>> 3) & 7) | ((rex & 4) << 1);
        int rm = m & 7;
        if (mod == 3) {
            i.rm = rm | ((rex & 1) << 3);
            return len;
        }
        i.rm = rm;
        int defaultSeg = CpuState.DS;
        if (i.addrSize == 2) {
            // 16-bit addressing: fixed base/index pairs (Table 2-1)
            if (rm == 6 && mod == 0) {
                i.disp = read(code, len, 2, fault);
                len += 2;
            } else {
                i.base = BASE16[rm];
                i.index = INDEX16[rm];
                if (i.base == Executor.RBP) {
                    defaultSeg = CpuState.SS;
                }
                if (mod == 1) {
                    i.disp = (byte) byteAt(code, len++, fault);
                } else if (mod == 2) {
                    i.disp = (short) read(code, len, 2, fault);
                    len += 2;
                }
            }
        } else {
            if (rm == 4) {
                int sib = byteAt(code, len++, fault);
                int index = ((sib >>> 3) & 7) | ((rex & 2) << 2);
                int base = (sib & 7) | ((rex & 1) << 3);
                i.sibBase = base;
                if (index != 4) { // index 100b without REX.X means none; with REX.X it is R12
                    i.index = index;
                    i.scale = sib >>> 6;
                }
                if ((base & 7) == 5 && mod == 0) {
                    i.disp = (int) read(code, len, 4, fault);
                    len += 4;
                } else {
                    i.base = base;
                    if (base == Executor.RSP || base == Executor.RBP) {
                        defaultSeg = CpuState.SS;
                    }
                }
            } else if (rm == 5 && mod == 0) {
                i.disp = (int) read(code, len, 4, fault);
                len += 4;
                i.ripRel = i.mode == Insn.MODE64;
            } else {
                int base = rm | ((rex & 1) << 3);
                i.base = base;
                if (base == Executor.RBP) {
                    defaultSeg = CpuState.SS;
                }
            }
            if (mod == 1) {
                i.disp = (byte) byteAt(code, len++, fault);
            } else if (mod == 2) {
                i.disp = (int) read(code, len, 4, fault);
                len += 4;
            }
        }
        i.eaSeg = i.segOv >= 0 ? i.segOv : defaultSeg;
        return len;
    }

    private static final int[] BASE16 = {Executor.RBX, Executor.RBX, Executor.RBP, Executor.RBP, Executor.RSI,
            Executor.RDI, Executor.RBP, Executor.RBX};
    private static final int[] INDEX16 = {Executor.RSI, Executor.RDI, Executor.RSI, Executor.RDI, -1, -1, -1, -1};

    private static int byteAt(CodeBytes code, int offset, CpuFault fault) {
        if (offset >= 15) {
            throw fault.set(Exceptions.GP, 0); // longer than 15 bytes (SDM Vol. 2, 2.3.11)
        }
        return code.at(offset);
    }

    /** A little-endian unsigned value of {@code n} bytes (n = 2, 4, 8). */
    private static long read(CodeBytes code, int offset, int n, CpuFault fault) {
        long v = 0;
        for (int k = 0; k < n; k++) {
            v |= (long) byteAt(code, offset + k, fault) << (8 * k);
        }
        return v;
    }
}
