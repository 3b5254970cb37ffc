package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;
import static io.jvmx.vmx.emulated.cpu.Alu.signExtend;
import static io.jvmx.vmx.emulated.cpu.Executor.RAX;
import static io.jvmx.vmx.emulated.cpu.Executor.RCX;
import static io.jvmx.vmx.emulated.cpu.Executor.RDX;
import static io.jvmx.vmx.emulated.cpu.Executor.RSP;

import io.jvmx.vmx.api.arch.Cr0;
import io.jvmx.vmx.api.arch.Cr4;
import io.jvmx.vmx.api.arch.Efer;
import io.jvmx.vmx.api.arch.Exceptions;
import io.jvmx.vmx.api.arch.Rflags;
import io.jvmx.vmx.api.arch.Xcr0;
import io.jvmx.vmx.api.exit.ExitReason;
import io.jvmx.vmx.api.msr.Msr;

/**
 * The two-byte opcode map (SDM Vol. 2D, Table A-3): the general-purpose instructions that live there and the system
 * instructions, with the VMX non-root hooks called after the checks that have priority over VM exits (SDM Vol. 3C,
 * 26.1.1) and before any state changes.
 */
final class SystemOps {
    /** CR0 bits that exist (SDM Vol. 3A, 2.5); other bits of 31:0 are ignored on writes, bits 63:32 are #GP. */
    static final long CR0_DEFINED = Cr0.PE | Cr0.MP | Cr0.EM | Cr0.TS | Cr0.ET | Cr0.NE | Cr0.WP | Cr0.AM | Cr0.NW
            | Cr0.CD | Cr0.PG;
    /** CR4 bits this processor implements; setting any other bit is #GP(0). */
    static final long CR4_SUPPORTED = Cr4.VME | Cr4.PVI | Cr4.TSD | Cr4.DE | Cr4.PSE | Cr4.PAE | Cr4.MCE | Cr4.PGE | Cr4.PCE
            | Cr4.OSFXSR | Cr4.OSXMMEXCPT | Cr4.UMIP | Cr4.VMXE | Cr4.FSGSBASE | Cr4.PCIDE | Cr4.OSXSAVE | Cr4.SMEP
            | Cr4.SMAP;
    /** IA32_EFER bits this processor implements. */
    static final long EFER_SUPPORTED = Efer.SCE | Efer.LME | Efer.LMA | Efer.NXE;
    /** XCR0 components XSETBV accepts: the state components XSAVE implements, x87 and SSE (no AVX). */
    static final long XCR0_SUPPORTED = Xcr0.X87 | Xcr0.SSE;

    private static final int IA32_TSC = 0x10;

    private final Executor x;
    private final CpuState s;
    private final Mmu m;
    private final NonRootHooks hooks;
    private final CpuFault fault;
    private final Alu alu;
    private final Segmentation segs;

    /** RDRAND/RDSEED source: xorshift64*, deterministic like the rest of the processor. */
    private long random = 0x9E37_79B9_7F4A_7C15L;

    SystemOps(Executor x, Segmentation segs) {
        this.x = x;
        this.s = x.s;
        this.m = x.m;
        this.hooks = x.hooks;
        this.fault = x.fault;
        this.alu = x.alu;
        this.segs = segs;
    }

    private CpuFault ud() {
        return x.ud();
    }

    private CpuFault gp0() {
        return x.gp(0);
    }

    private void requireCpl0() {
        if (x.cpl != 0) {
            throw gp0();
        }
    }

    void execute0F(int op) {
        switch (op) {
            case 0x00: group6(); return;
            case 0x01: group7(); return;
            case 0x02: case 0x03: larLsl(op == 0x02); return;
            case 0x05: syscall(); return;
            case 0x06:
                requireCpl0();
                hooks.clts(x.i.len);
                if ((ownedMask(0) & Cr0.TS) == 0) {
                    s.cr0 &= ~Cr0.TS; // a host-owned TS is left alone (SDM 26.3)
                }
                x.done();
                return;
            case 0x07: sysret(); return;
            case 0x08:
                requireCpl0();
                s.instructionInformation = 0;
                hooks.unconditional(ExitReason.INVD.number(), x.i.len);
                x.done(); // caches are coherent here: nothing to invalidate
                return;
            case 0x09:
                requireCpl0();
                hooks.conditional(ExitReason.WBINVD_OR_WBNOINVD.number(), x.i.len);
                x.done();
                return;
            case 0x0D: case 0x18: case 0x19: case 0x1A: case 0x1B: case 0x1C: case 0x1D: case 0x1E: case 0x1F:
                // prefetch hints and the reserved-NOP space (multi-byte NOP 0F 1F /0)
                if (op == 0x0D && x.i.mod == 3) {
                    throw ud();
                }
                x.done();
                return;
            case 0x0B: case 0xB9: case 0xFF:
                throw ud(); // UD2, UD1, UD0
            case 0x20: case 0x21: case 0x22: case 0x23: movCrDr(op); return;
            case 0x30: wrmsr(); return;
            case 0x31: rdtsc(false); return;
            case 0x32: rdmsr(); return;
            case 0x33:
                if (x.cpl != 0 && (s.cr4 & Cr4.PCE) == 0) {
                    throw gp0();
                }
                hooks.conditional(ExitReason.RDPMC.number(), x.i.len);
                throw gp0(); // no performance-monitoring counters: every ECX is an invalid counter
            case 0x34: sysenter(); return;
            case 0x35: sysexit(); return;
            case 0x37:
                if ((s.cr4 & Cr4.SMXE) == 0) {
                    throw ud();
                }
                s.instructionInformation = 0;
                hooks.unconditional(ExitReason.GETSEC.number(), x.i.len);
                throw ud();
                        case 0x40: case 0x41: case 0x42: case 0x43: case 0x44: case 0x45: case 0x46: case 0x47:
            case 0x48: case 0x49: case 0x4A: case 0x4B: case 0x4C: case 0x4D: case 0x4E: case 0x4F: {
                long v = x.readE(x.i.opSize);
                if (x.cond(op & 0xF)) {
                    x.setReg(x.i.reg, x.i.opSize, v);
                } else if (x.i.opSize == 4) {
                    x.setReg(x.i.reg, 4, x.getReg(x.i.reg, 4)); // 32-bit CMOVcc zero-extends even when false
                }
                x.done();
                return;
            }
            case 0x78: case 0x79:
                if (x.i.opPrefix || x.i.rep != 0) {
                    throw ud();
                }
                vmxInstruction(op == 0x78 ? ExitReason.VMREAD : ExitReason.VMWRITE);
                return;
            case 0x90: case 0x91: case 0x92: case 0x93: case 0x94: case 0x95: case 0x96: case 0x97:
            case 0x98: case 0x99: case 0x9A: case 0x9B: case 0x9C: case 0x9D: case 0x9E: case 0x9F:
                x.storeE(1, x.cond(op & 0xF) ? 1 : 0);
                x.done();
                return;
            case 0xA2:
                hooks.cpuid(x.i.len);
                throw new IllegalStateException("CPUID returned from NonRootHooks.cpuid: the interpreter has no native "
                        + "CPUID; in VMX non-root operation CPUID always causes a VM exit (SDM Vol. 3C, 26.1.2)");
            case 0xA4: case 0xA5: case 0xAC: case 0xAD: {
                int count = (op & 1) == 0 ? (int) x.i.imm & 0xFF : (int) s.gpr[RCX] & 0xFF;
                long d = x.readEW(x.i.opSize);
                long r = alu.doubleShift(op < 0xAC, d, x.getReg(x.i.reg, x.i.opSize), count, x.i.opSize, s.rflags());
                if ((count & (x.i.opSize == 8 ? 0x3F : 0x1F)) != 0) {
                    x.writeEW(x.i.opSize, r);
                    alu.commit(s);
                } else {
                    x.zeroExtendOnCountZero(x.i.opSize, d);
                }
                x.done();
                return;
            }
            case 0xAE: group15(); return;
            case 0xAF: {
                long r = x.imul(x.getReg(x.i.reg, x.i.opSize), x.readE(x.i.opSize), x.i.opSize);
                x.setReg(x.i.reg, x.i.opSize, r);
                alu.commit(s);
                x.done();
                return;
            }
            case 0xB2: case 0xB4: case 0xB5:
                if (x.i.mod == 3) {
                    throw ud();
                }
                x.loadFarPointer(op == 0xB2 ? CpuState.SS : op == 0xB4 ? CpuState.FS : CpuState.GS);
                return;
            case 0xC7: group9(); return;
            default:
                // MMX, SSE, AVX and the other unimplemented parts of the map
                throw ud();
        }
    }

    // ============================================================================================ group 9

    private void group9() {
        int o = x.regOp();
        if (x.i.lock && !(o == 1 && x.i.mod != 3)) {
            throw ud();
        }
        if (x.i.mod == 3) {
            if (o == 6 || (o == 7 && x.i.rep == 0)) {
                // RDRAND / RDSEED (instruction information: SDM 28.2.5 Table 28-16)
                s.instructionInformation = ((x.i.rm & 15) << 3) | ((x.i.opSize == 2 ? 0 : x.i.opSize == 4 ? 1 : 2) << 11);
                hooks.conditional(o == 6 ? ExitReason.RDRAND.number() : ExitReason.RDSEED.number(), x.i.len);
                random ^= random >>> 12;
                random ^= random << 25;
                random ^= random >>> 27;
                long v = random * 0x2545_F491_4F6C_DD1DL;
                x.setReg(x.i.rm, x.i.opSize, v);
                s.setRflags((s.rflags() & ~Alu.STATUS) | Alu.CF);
                x.done();
                return;
            }
            throw ud();
        }
        switch (o) {
            case 6:
                if (x.i.rep == 0xF2 || (x.i.opPrefix && x.i.rep != 0)) {
                    throw ud();
                }
                vmxInstruction(x.i.rep == 0xF3 ? ExitReason.VMXON : x.i.opPrefix ? ExitReason.VMCLEAR : ExitReason.VMPTRLD);
                return;
            case 7:
                if (x.i.rep != 0 || x.i.opPrefix) {
                    throw ud();
                }
                vmxInstruction(ExitReason.VMPTRST);
                return;
            default:
                throw ud();
        }
    }

    // ============================================================================================ group 15

    private void group15() {
        int o = x.regOp();
        if (x.i.mod == 3) {
            if (x.i.rep == 0xF3 && o <= 3) {
                // RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE
                if (!x.mode64 || (s.cr4 & Cr4.FSGSBASE) == 0) {
                    throw ud();
                }
                int size = x.i.opSize == 8 ? 8 : 4;
                Segment sd = s.seg[(o & 1) == 0 ? CpuState.FS : CpuState.GS];
                if (o < 2) {
                    x.setReg(x.i.rm, size, sd.base);
                } else {
                    long v = x.getReg(x.i.rm, size);
                    if (!Executor.canonical(v)) {
                        throw gp0();
                    }
                    sd.base = v;
                }
                x.done();
                return;
            }
            if (o >= 5 && x.i.rep == 0 && !x.i.opPrefix) {
                x.done(); // LFENCE, MFENCE, SFENCE: accesses are already in program order
                return;
            }
            throw ud();
        }
        if ((o == 7 && x.i.rep == 0) || (o == 6 && x.i.opPrefix && x.i.rep == 0)) {
            // CLFLUSH / CLFLUSHOPT / CLWB: checked like a byte read; nothing is cached, so nothing to write back
            m.translate(x.lin(x.i.eaSeg, x.ea(), 1, false), Mmu.READ, x.dataPriv, 1);
            x.done();
            return;
        }
        throw ud(); // FXSAVE, FXRSTOR, LDMXCSR, STMXCSR and XSAVE* are XsaveOps'
    }

    // ============================================================================================ 0F 38

    /** The three-byte map 0F 38 (SDM Vol. 2D, Table A-4). */
    void execute0F38(int op3) {
        if (op3 == 0x82 && x.i.opPrefix && x.i.rep == 0) {
            invpcid();
            return;
        }
        if ((op3 == 0x80 || op3 == 0x81) && x.i.opPrefix && x.i.rep == 0) {
            if (x.i.mod == 3) {
                throw ud();
            }
            vmxInstruction(op3 == 0x80 ? ExitReason.INVEPT : ExitReason.INVVPID);
            return;
        }
        throw ud();
    }

    /**
     * INVPCID (66 0F 38 82 /r, SDM Vol. 2A INVPCID): #UD for a register operand or, in VMX non-root operation, with
     * "enable INVPCID" = 0 (SDM Vol. 3C 26.3); #GP(0) at CPL > 0; the VM exit with "INVLPG exiting" = 1 (26.1.3);
     * then #GP(0) for a type above 3, a descriptor with bits 63:12 set, a non-canonical address (type 0), or a PCID
     * other than 000H while CR4.PCIDE = 0 (types 0 and 1). The type register is 64 bits in 64-bit mode, else 32.
     */
    private void invpcid() {
        if (x.i.mod == 3 || !hooks.invpcidEnabled() || x.vm86) {
            throw ud(); // "not recognized in virtual-8086 mode"
        }
        if (!x.realMode && x.cpl != 0) {
            throw gp0();
        }
        s.instructionInformation = x.instructionInformation(true);
        s.instructionDisplacement = x.displacement();
        hooks.invpcid(x.i.len);
        long type = x.getReg(x.i.reg, x.mode64 ? 8 : 4);
        if (Long.compareUnsigned(type, 3) > 0) {
            throw gp0();
        }
        long lin = x.lin(x.i.eaSeg, x.ea(), 16, false);
        long pcid = m.read(lin, 8, x.dataPriv);
        long address = m.read(x.mode64 ? lin + 8 : (lin + 8) & 0xFFFF_FFFFL, 8, x.dataPriv);
        if ((pcid & ~0xFFFL) != 0) {
            throw gp0();
        }
        if (type == 0 && !Executor.canonical(address)) {
            throw gp0();
        }
        if (type <= 1 && (s.cr4 & Cr4.PCIDE) == 0 && pcid != 0) {
            throw gp0();
        }
        m.invpcid((int) type, pcid, address);
        x.done();
    }

    /**
     * VMREAD, VMWRITE, VMPTRLD, VMPTRST, VMCLEAR, VMXON, INVEPT, INVVPID (and VMLAUNCH, VMRESUME, VMXOFF through
     * {@link #group7}): #UD in real, virtual-8086 and compatibility mode, else a VM exit in VMX non-root operation (SDM Vol. 3C,
     * 26.1.2). If the hook returns, the processor is not in VMX operation: #UD.
     */
    private void vmxInstruction(ExitReason reason) {
        if (x.segments8086 || (s.longModeActive() && !x.mode64)) {
            throw ud();
        }
        boolean operand = reason != ExitReason.VMLAUNCH && reason != ExitReason.VMRESUME
                && reason != ExitReason.VMXOFF;
        s.instructionInformation = operand ? x.instructionInformation(reason == ExitReason.VMREAD
                || reason == ExitReason.VMWRITE || reason == ExitReason.INVEPT || reason == ExitReason.INVVPID) : 0;
        s.instructionDisplacement = operand && x.i.mod != 3 ? x.displacement() : 0;
        hooks.unconditional(reason.number(), x.i.len);
        throw ud();
    }

    // ============================================================================================ groups 6 and 7

    /** SLDT, STR, LLDT, LTR, VERR, VERW: not recognized in real-address and virtual-8086 mode (#UD). */
    private void group6() {
        if (x.segments8086) {
            throw ud();
        }
        int o = x.regOp();
        switch (o) {
            case 0:
            case 1: {
                if ((s.cr4 & Cr4.UMIP) != 0 && x.cpl > 0) {
                    throw gp0();
                }
                descriptorTableExit(false, o);
                int sel = (o == 0 ? s.ldtr : s.tr).selector & 0xFFFF;
                if (x.i.mod == 3) {
                    x.setReg(x.i.rm, x.i.opSize, sel);
                } else {
                    // the alignment of "LDTR or Task Register Contents" is 4, not that of a word (SDM Vol. 3A 6.15,
                    // Table 6-7; 3.5.1: "located at a doubleword address")
                    long lin = x.lin(x.i.eaSeg, x.ea(), 2, true);
                    x.m.write(lin, 2, sel, x.checkAlignment(lin, 4));
                }
                x.done();
                return;
            }
            case 2:
            case 3: {
                requireCpl0();
                descriptorTableExit(false, o);
                int sel = (int) x.readE(2);
                if (o == 2) {
                    lldt(sel);
                } else {
                    ltr(sel);
                }
                x.done();
                return;
            }
            case 4:
            case 5: {
                int sel = (int) x.readE(2);
                boolean ok = verify(sel, o == 5);
                s.setRflags(ok ? s.rflags() | Alu.ZF : s.rflags() & ~Alu.ZF);
                x.done();
                return;
            }
            default:
                throw ud();
        }
    }

    /** LLDT (SDM Vol. 2A): a null selector makes LDTR unusable. */
    private void lldt(int sel) {
        if ((sel & 0xFFFC) == 0) {
            s.ldtr.set(sel, 0, 0, Segment.AR_UNUSABLE);
            return;
        }
        int err = sel & 0xFFFC;
        if ((sel & 4) != 0) {
            throw fault.set(Exceptions.GP, err);
        }
        long lin = segs.descriptorLinear(sel, err);
        long d = segs.readDescriptor(lin);
        int ar = Segmentation.ar(d);
        if ((ar & 0x1F) != 0x02) {
            throw fault.set(Exceptions.GP, err);
        }
        if (!Segmentation.present(ar)) {
            throw fault.set(Exceptions.NP, err);
        }
        long base = Segmentation.base(d);
        if (s.longModeActive()) {
            base |= systemDescriptorHigh(sel, lin, err) << 32;
        }
        s.ldtr.set(sel, base, Segmentation.limit(d), ar);
    }

    /** LTR (SDM Vol. 2A): loads an available TSS and marks it busy. */
    private void ltr(int sel) {
        int err = sel & 0xFFFC;
        if (err == 0) {
            throw gp0();
        }
        if ((sel & 4) != 0) {
            throw fault.set(Exceptions.GP, err);
        }
        long lin = segs.descriptorLinear(sel, err);
        long d = segs.readDescriptor(lin);
        int ar = Segmentation.ar(d);
        int type = ar & 0x1F;
        boolean ok = s.longModeActive() ? type == 0x09 : type == 0x01 || type == 0x09;
        if (!ok) {
            throw fault.set(Exceptions.GP, err);
        }
        if (!Segmentation.present(ar)) {
            throw fault.set(Exceptions.NP, err);
        }
        long base = Segmentation.base(d);
        if (s.longModeActive()) {
            base |= systemDescriptorHigh(sel, lin, err) << 32;
        }
        m.write(lin + 5, 1, ((d >>> 40) | 2) & 0xFF, x.sysPriv); // busy
        s.tr.set(sel, base, Segmentation.limit(d), ar | 2);
    }

    /** Bits 63:32 of a 16-byte system-descriptor base (IA-32e mode, SDM 7.2.3); both halves lie in the GDT. */
    private long systemDescriptorHigh(int sel, long lin, int err) {
        if ((sel & 0xFFF8) + 15L > (s.gdtrLimit & 0xFFFF)) {
            throw fault.set(Exceptions.GP, err);
        }
        return m.read(lin + 8, 4, x.sysPriv);
    }

    /** VERR / VERW (SDM Vol. 2B): ZF = 1 if the segment is readable/writable at CPL and RPL. No fault. */
    private boolean verify(int sel, boolean write) {
        if ((sel & 0xFFFC) == 0) {
            return false;
        }
        long d;
        try {
            d = segs.readDescriptor(segs.descriptorLinear(sel, 0));
        } catch (CpuFault f) {
            if (f.vector == Exceptions.GP) {
                return false; // beyond the table limit
            }
            throw f;
        }
        int ar = Segmentation.ar(d);
        if ((ar & 0x10) == 0) {
            return false;
        }
        boolean code = Segmentation.isCode(ar);
        if (write ? code || (ar & 2) == 0 : code && (ar & 2) == 0) {
            return false;
        }
        boolean conforming = code && (ar & 4) != 0;
        int dpl = Segmentation.dpl(ar);
        return conforming || (dpl >= x.cpl && dpl >= (sel & 3));
    }

    /** LAR / LSL (SDM Vol. 2A/2B): ZF = 1 and the access rights / limit if the descriptor is visible. */
    private void larLsl(boolean lar) {
        if (x.segments8086) { // not recognized in real-address and virtual-8086 mode
            throw ud();
        }
        int sel = (int) x.readE(2);
        long d = 0;
        boolean ok = (sel & 0xFFFC) != 0;
        if (ok) {
            try {
                d = segs.readDescriptor(segs.descriptorLinear(sel, 0));
            } catch (CpuFault f) {
                if (f.vector != Exceptions.GP) {
                    throw f;
                }
                ok = false;
            }
        }
        if (ok) {
            int ar = Segmentation.ar(d);
            if ((ar & 0x10) == 0) {
                int type = ar & 0xF;
                boolean lm = s.longModeActive();
                ok = lar ? (lm ? type == 2 || type == 9 || type == 11 || type == 12
                        : type == 1 || type == 2 || type == 3 || type == 4 || type == 5 || type == 9 || type == 11
                                || type == 12)
                        : (lm ? type == 2 || type == 9 || type == 11
                                : type == 1 || type == 2 || type == 3 || type == 9 || type == 11);
            }
            boolean conforming = Segmentation.isCode(ar) && (ar & 4) != 0;
            int dpl = Segmentation.dpl(ar);
            if (ok && !conforming && (dpl < x.cpl || dpl < (sel & 3))) {
                ok = false;
            }
        }
        if (ok) {
            long v = lar ? (d >>> 32) & 0x00F0_FF00L : Segmentation.limit(d) & 0xFFFF_FFFFL;
            x.setReg(x.i.reg, x.i.opSize, v);
            s.setRflags(s.rflags() | (Alu.ZF));
        } else {
            s.setRflags(s.rflags() & (~Alu.ZF));
        }
        x.done();
    }

    private void group7() {
        int o = x.regOp();
        if (x.i.mod == 3) {
            switch (x.i.modrm) {
                case 0xC1:
                    s.instructionInformation = 0;
                    hooks.unconditional(ExitReason.VMCALL.number(), x.i.len);
                    throw ud();
                case 0xC2: vmxInstruction(ExitReason.VMLAUNCH); return;
                case 0xC3: vmxInstruction(ExitReason.VMRESUME); return;
                case 0xC4: vmxInstruction(ExitReason.VMXOFF); return;
                case 0xC8: case 0xC9: {
                    if (x.cpl != 0) {
                        throw ud();
                    }
                    boolean monitor = x.i.modrm == 0xC8;
                    hooks.conditional(monitor ? ExitReason.MONITOR.number() : ExitReason.MWAIT.number(), x.i.len);
                    if (monitor) {
                        int sg = x.i.segOv >= 0 ? x.i.segOv : CpuState.DS;
                        m.translate(x.lin(sg, x.getReg(RAX, x.i.addrSize), 1, false), Mmu.READ, x.dataPriv, 1);
                    } else if ((s.gpr[RCX] & 0xFFFF_FFFEL) != 0) {
                        throw gp0();
                    }
                    // MWAIT may end at any time; with nothing to wait for it completes at once
                    s.monitorArmed = monitor;
                    x.done();
                    return;
                }
                case 0xCA: case 0xCB:
                    if (x.cpl != 0) {
                        throw ud();
                    }
                    s.setRflags(x.i.modrm == 0xCA ? s.rflags() & ~Rflags.AC : s.rflags() | Rflags.AC);
                    x.done();
                    return;
                case 0xD0:
                    if ((s.cr4 & Cr4.OSXSAVE) == 0 || x.i.opPrefix || x.i.rep != 0) {
                        throw ud();
                    }
                    // XGETBV (Vol. 2D): ECX = 0 reads XCR0, ECX = 1 reads XCR0 AND XINUSE (Vol. 1, 13.6)
                    long ecx = s.gpr[RCX] & 0xFFFF_FFFFL;
                    if (ecx > 1) {
                        throw gp0();
                    }
                    long v = ecx == 0 ? s.xcr0 : s.xcr0 & XsaveOps.inUse(x);
                    x.setReg(RAX, 4, v);
                    x.setReg(RDX, 4, v >>> 32);
                    x.done();
                    return;
                case 0xD1: xsetbv(); return;
                case 0xD4:
                    s.instructionInformation = 0;
                    hooks.unconditional(ExitReason.VMFUNC.number(), x.i.len);
                    throw ud();
                case 0xF8:
                    if (!x.mode64) {
                        throw ud();
                    }
                    requireCpl0();
                    long gs = s.seg[CpuState.GS].base;
                    s.seg[CpuState.GS].base = s.kernelGsBase;
                    s.kernelGsBase = gs;
                    x.done();
                    return;
                case 0xF9: rdtsc(true); return;
                default:
                    break;
            }
            if (o == 4) {
                smsw();
                return;
            }
            if (o == 6) {
                lmsw();
                return;
            }
            throw ud();
        }
        switch (o) {
            case 0:
            case 1: {
                if ((s.cr4 & Cr4.UMIP) != 0 && x.cpl > 0) {
                    throw gp0();
                }
                descriptorTableExit(true, o);
                long base = o == 0 ? s.gdtrBase : s.idtrBase;
                int limit = o == 0 ? s.gdtrLimit : s.idtrLimit;
                int bsize = x.mode64 ? 8 : 4;
                long off = x.ea();
                // SDM Vol. 3A 3.5.1 and 6.15: the limit is stored as a word, then the base, whose alignment is that
                // of "GDTR, IDTR ... Contents" (Table 6-7), 4, also for the 8-byte base of 64-bit mode; an image at
                // 4n + 2 raises no #AC
                x.stage(x.lin(x.i.eaSeg, off, 2, true), 2, limit & 0xFFFF, x.dataPriv);
                long baseLin = x.lin(x.i.eaSeg, (off + 2) & x.addrMask(), bsize, true);
                x.stage(baseLin, bsize, base, x.checkAlignment(baseLin, 4));
                x.commitStaged();
                x.done();
                return;
            }
            case 2:
            case 3: {
                requireCpl0();
                descriptorTableExit(true, o);
                long off = x.ea();
                int limit = (int) x.readMem(x.i.eaSeg, off, 2);
                long base = x.readMem(x.i.eaSeg, (off + 2) & x.addrMask(), x.mode64 ? 8 : 4);
                if (!x.mode64 && x.i.opSize == 2) {
                    base &= 0xFF_FFFF;
                }
                if (x.mode64 && !Executor.canonical(base)) {
                    throw gp0();
                }
                if (o == 2) {
                    s.gdtrBase = base;
                    s.gdtrLimit = limit;
                } else {
                    s.idtrBase = base;
                    s.idtrLimit = limit;
                }
                x.done();
                return;
            }
            case 4: smsw(); return;
            case 6: lmsw(); return;
            case 7: {
                // INVLPG (SDM Vol. 2A): no segment check; a non-canonical address invalidates nothing
                requireCpl0();
                long lin = x.rawLinear(x.i.eaSeg, x.ea());
                hooks.invlpg(lin, x.i.len);
                if (!x.mode64 || Executor.canonical(lin)) {
                    m.invalidatePage(lin);
                }
                x.done();
                return;
            }
            default:
                throw ud();
        }
    }

    /**
     * "Descriptor-table exiting" (SDM 26.1.3): LGDT, LIDT, SGDT, SIDT (exit 46) and LLDT, LTR, SLDT, STR (exit 47)
     * exit after the #UD and privilege checks and before the operand is accessed. The instruction information is
     * that of Table 28-10 (bit 11 operand size, bits 29:28 SGDT/SIDT/LGDT/LIDT) or Table 28-11 (bits 29:28
     * SLDT/STR/LLDT/LTR); a memory operand's displacement is the exit qualification (28.2.1).
     */
    private void descriptorTableExit(boolean gdtrIdtr, int identity) {
        int info = x.instructionInformation(false) | (identity << 28);
        if (gdtrIdtr && x.i.opSize != 2) {
            info |= 1 << 11;
        }
        s.instructionInformation = info;
        s.instructionDisplacement = x.i.mod != 3 ? x.displacement() : 0;
        hooks.conditional(gdtrIdtr ? ExitReason.ACCESS_TO_GDTR_OR_IDTR.number()
                : ExitReason.ACCESS_TO_LDTR_OR_TR.number(), x.i.len);
    }

    private void smsw() {
        if ((s.cr4 & Cr4.UMIP) != 0 && x.cpl > 0) {
            throw gp0();
        }
        long v = hooks.readShadowedCr(0, s.cr0);
        if (x.i.mod == 3) {
            x.setReg(x.i.rm, x.i.opSize, v & mask(Math.min(x.i.opSize, 4)));
        } else {
            x.writeMem(x.i.eaSeg, x.ea(), 2, v);
        }
        x.done();
    }

    /** LMSW (SDM Vol. 2A; 26.3 for host-owned bits): loads CR0[3:0] but cannot clear PE. */
    private void lmsw() {
        requireCpl0();
        boolean memory = x.i.mod != 3;
        long linear = memory ? x.rawLinear(x.i.eaSeg, x.ea()) : 0;
        int src = (int) x.readE(2);
        hooks.lmsw(src, memory, linear, x.i.len);
        long owned = ownedMask(0) & 0xF;
        long low = (src & 0xF) | (s.cr0 & Cr0.PE);
        long nv = (s.cr0 & ~0xFL) | (low & ~owned) | (s.cr0 & 0xF & owned);
        if (((nv ^ s.cr0) & Cr0.PE) != 0) {
            m.flush();
        }
        s.cr0 = nv;
        x.done();
    }

    // ============================================================================================ CR and DR

    /**
     * The CR0/CR4 guest/host mask, recovered from {@link NonRootHooks#readShadowedCr}: a host-owned bit reads the
     * shadow whatever the actual value is, a guest-owned bit reads the actual value.
     */
    long ownedMask(int cr) {
        return ~(hooks.readShadowedCr(cr, 0) ^ hooks.readShadowedCr(cr, -1L));
    }

    private void movCrDr(int op) {
        // the mod field is ignored: always a register operand, no SIB or displacement (SDM Vol. 2B MOV CR); the
        // decoder has decoded ModRM that way
        int n = x.i.reg;
        int gpr = x.i.rm;
        int size = x.mode64 ? 8 : 4;
        if (op == 0x21 || op == 0x23) {
            movDr(op == 0x23, n, gpr, size);
            return;
        }
        if (n != 0 && n != 2 && n != 3 && n != 4 && n != 8) {
            throw ud();
        }
        requireCpl0();
        if (op == 0x20) {
            long v;
            switch (n) {
                case 0: v = hooks.readShadowedCr(0, s.cr0); break;
                case 2: v = s.cr2; break;
                case 3: hooks.movFromCr(3, gpr, x.i.len); v = s.cr3; break;
                case 4: v = hooks.readShadowedCr(4, s.cr4); break;
                default: hooks.movFromCr(8, gpr, x.i.len); v = s.cr8; break;
            }
            x.setReg(gpr, size, v);
            x.done();
            return;
        }
        long v = x.getReg(gpr, size);
        switch (n) {
            case 0:
                hooks.movToCr(0, gpr, v, x.i.len);
                writeCr0(v);
                break;
            case 2:
                s.cr2 = v;
                break;
            case 3:
                hooks.movToCr(3, gpr, v, x.i.len);
                writeCr3(v);
                break;
            case 4:
                hooks.movToCr(4, gpr, v, x.i.len);
                writeCr4(v);
                break;
            default:
                hooks.movToCr(8, gpr, v, x.i.len);
                if ((v & ~0xFL) != 0) {
                    throw gp0();
                }
                s.cr8 = v;
                break;
        }
        x.done();
    }

    /**
     * MOV to CR3 after the hook (SDM Vol. 2B MOV CR, Vol. 3A 4.10.4.1). In IA-32e mode bits 63:MAXPHYADDR are
     * reserved (#GP(0)), except bit 63 with CR4.PCIDE = 1: it is not stored, and when it is 1 no TLB entry is
     * invalidated; otherwise the non-global entries of the PCID in bits 11:0 (PCID 000H with PCIDE = 0) are. With PAE
     * paging the PDPTEs are loaded (4.4.1).
     */
    private void writeCr3(long v) {
        boolean pcide = (s.cr4 & Cr4.PCIDE) != 0;
        boolean keep = pcide && v < 0;
        if (pcide) {
            v &= Long.MAX_VALUE;
        }
        if (s.longModeActive() && (v & ~Mmu.PHYS_MASK) != 0) {
            throw gp0();
        }
        if (paePaging(s.cr0, s.cr4, s.efer)) {
            loadPdptes(v);
        }
        s.cr3 = v;
        m.cr3Loaded(!keep);
    }

    /** MOV to CR0 after the hook (SDM Vol. 2B MOV CR; 3A 9.8.5 for IA-32e activation; 3C 26.3 host-owned bits). */
    private void writeCr0(long v) {
        if ((v >>> 32) != 0) {
            throw gp0();
        }
        long owned = ownedMask(0);
        long old = s.cr0;
        long nv = (((v & ~owned) | (old & owned)) & CR0_DEFINED) | Cr0.ET;
        long fixed = hooks.crFixedOnes(0) & ~owned;
        if ((nv & fixed) != fixed) {
            throw gp0(); // clearing a bit VMX operation fixes to 1 (SDM Vol. 3C 24.8)
        }
        if ((nv & Cr0.PG) != 0 && (nv & Cr0.PE) == 0) {
            throw gp0();
        }
        if ((nv & Cr0.NW) != 0 && (nv & Cr0.CD) == 0) {
            throw gp0();
        }
        long efer = s.efer;
        if ((old & Cr0.PG) == 0 && (nv & Cr0.PG) != 0 && (efer & Efer.LME) != 0) {
            if ((s.cr4 & Cr4.PAE) == 0 || s.seg[CpuState.CS].longMode()) {
                throw gp0();
            }
            efer |= Efer.LMA;
        } else if ((old & Cr0.PG) != 0 && (nv & Cr0.PG) == 0 && (efer & Efer.LMA) != 0) {
            if (x.mode64 || (s.cr4 & Cr4.PCIDE) != 0) {
                throw gp0(); // leaving IA-32e mode: only from compatibility mode, and not with PCIDs on
            }
            efer &= ~Efer.LMA;
        }
        if (paePaging(nv, s.cr4, efer) && ((old ^ nv) & (Cr0.PG | Cr0.CD | Cr0.NW)) != 0) {
            loadPdptes(s.cr3);
        }
        s.cr0 = nv;
        s.efer = efer;
        // a change of PG drops every translation, global ones included (SDM 4.10.4.1); the TLB's entries also hold
        // rights computed with WP, so they go when WP changes
        if (((old ^ nv) & (Cr0.PG | Cr0.PE | Cr0.WP)) != 0) {
            m.flush();
        }
    }

    /** CR4 bits the TLB's entries depend on: a change drops them all (SDM 4.10.4.1 asks it for PGE, PCIDE, PAE, SMEP). */
    private static final long CR4_TRANSLATION = Cr4.PSE | Cr4.PAE | Cr4.PGE | Cr4.PCIDE | Cr4.SMEP | Cr4.SMAP;

    /**
     * MOV to CR4 after the hook (SDM Vol. 2B MOV CR): #GP(0) for an unimplemented bit, for clearing a bit VMX operation
     * fixes to 1 that the guest owns, for clearing PAE in IA-32e mode,
     * and for setting PCIDE outside IA-32e mode or while CR3[11:0] is not 000H (4.10.1). A change of CR4.DE changes
     * what DR7's R/W = 10 means (I/O breakpoints, SDM Vol. 3B 18.2.4).
     */
    private void writeCr4(long v) {
        long owned = ownedMask(4);
        if ((v & ~owned & ~CR4_SUPPORTED) != 0) {
            throw gp0();
        }
        long old = s.cr4;
        long nv = (v & ~owned) | (old & owned);
        long fixed = hooks.crFixedOnes(4) & ~owned;
        if ((nv & fixed) != fixed) {
            throw gp0(); // clearing CR4.VMXE in VMX operation (SDM Vol. 3C 24.8)
        }
        if (s.longModeActive() && (nv & Cr4.PAE) == 0) {
            throw gp0();
        }
        if ((old & Cr4.PCIDE) == 0 && (nv & Cr4.PCIDE) != 0 && (!s.longModeActive() || (s.cr3 & 0xFFF) != 0)) {
            throw gp0();
        }
        if (paePaging(s.cr0, nv, s.efer) && ((old ^ nv) & (Cr4.PAE | Cr4.PGE | Cr4.PSE | Cr4.SMEP)) != 0) {
            loadPdptes(s.cr3);
        }
        s.cr4 = nv;
        if (((old ^ nv) & CR4_TRANSLATION) != 0) {
            m.flush();
        }
        if (((old ^ nv) & Cr4.DE) != 0) {
            x.debug.reload();
        }
    }

    static boolean paePaging(long cr0, long cr4, long efer) {
        return (cr0 & Cr0.PG) != 0 && (cr4 & Cr4.PAE) != 0 && (efer & Efer.LMA) == 0;
    }

    private final long[] pdpteScratch = new long[4];

    /** Loads the PDPTE registers for PAE paging (SDM Vol. 3A, 4.4.1): #GP(0) and no change if one is invalid. */
    private void loadPdptes(long cr3) {
        if (!m.readPdptes(cr3, pdpteScratch)) {
            throw gp0();
        }
        System.arraycopy(pdpteScratch, 0, s.pdpte, 0, 4);
    }

    /**
     * MOV to/from DR0-DR7 (SDM Vol. 2B MOV DR): the MOV-DR VM exit first (SDM Vol. 3C 26.1.3), then #GP(0) at CPL > 0,
     * #UD for DR4/DR5 with CR4.DE = 1 (else they alias DR6/DR7), then the general-detect #DB fault when DR7.GD = 1 (SDM
     * Vol. 3B 18.2.4: DR6.BD, and GD is cleared as the handler is entered). Writing a 1 to bits 63:32 of DR6 or DR7 is
     * #GP(0). DR0-DR3 hold linear addresses; DR6 and DR7 keep their fixed bits.
     */
    private void movDr(boolean toDr, int n, int gpr, int size) {
        if (n > 7) {
            throw ud();
        }
        // SDM 26.1.3 MOV DR: "MOV-DR exiting" takes priority over the #GP of CPL > 0 and over the #UD of DR4/DR5
        // with CR4.DE = 1, unlike the other instruction exits (26.1.1)
        hooks.movDr(n, gpr, toDr, x.i.len);
        requireCpl0();
        if ((n == 4 || n == 5) && (s.cr4 & Cr4.DE) != 0) {
            throw ud();
        }
        if ((s.dr7 & DebugRegisters.DR7_GD) != 0) {
            throw x.events.debugFault(DebugRegisters.BD);
        }
        if (n == 4) {
            n = 6;
        } else if (n == 5) {
            n = 7;
        }
        DebugRegisters d = x.debug;
        if (!toDr) {
            long v = n < 4 ? d.dr[n] : n == 6 ? d.dr6 : s.dr7;
            x.setReg(gpr, size, v);
            x.done();
            return;
        }
        long v = x.getReg(gpr, size);
        if (n >= 6 && (v >>> 32) != 0) {
            throw gp0();
        }
        if (n < 4) {
            d.setAddress(n, v);
        } else if (n == 6) {
            d.setDr6(v);
        } else {
            s.dr7 = (v & 0xFFFF_23FFL) | 0x400; // bits 15:14, 12 and 11 are reserved (0); bit 10 is 1
            d.reload();
        }
        x.done();
    }

    // ============================================================================================ MSRs

    private void rdmsr() {
        requireCpl0();
        int msr = (int) s.gpr[RCX];
        hooks.rdmsr(msr, x.i.len);
        long v = readMsr(msr);
        x.setReg(RAX, 4, v);
        x.setReg(RDX, 4, v >>> 32);
        x.done();
    }

    private void wrmsr() {
        requireCpl0();
        int msr = (int) s.gpr[RCX];
        long v = (x.getReg(RDX, 4) << 32) | x.getReg(RAX, 4);
        hooks.wrmsr(msr, v, x.i.len);
        writeMsr(msr, v);
        x.done();
    }

    private long readMsr(int msr) {
        switch (msr) {
            case IA32_TSC: return hooks.guestTsc();
            case Msr.IA32_SYSENTER_CS: return s.sysenterCs;
            case Msr.IA32_SYSENTER_ESP: return s.sysenterEsp;
            case Msr.IA32_SYSENTER_EIP: return s.sysenterEip;
            case Msr.IA32_DEBUGCTL: return s.debugctl;
            case Msr.IA32_PAT: return s.pat;
            case Msr.IA32_EFER: return s.efer;
            case Msr.IA32_STAR: return s.star;
            case Msr.IA32_LSTAR: return s.lstar;
            case Msr.IA32_CSTAR: return s.cstar;
            case Msr.IA32_FMASK: return s.fmask;
            case Msr.IA32_FS_BASE: return s.seg[CpuState.FS].base;
            case Msr.IA32_GS_BASE: return s.seg[CpuState.GS].base;
            case Msr.IA32_KERNEL_GS_BASE: return s.kernelGsBase;
            case Msr.IA32_TSC_AUX: return s.tscAux;
            default:
                if (ConfigurationMsrs.has(msr)) {
                    return s.configurationMsrs.read(msr);
                }
                throw gp0();
        }
    }

    private void writeMsr(int msr, long v) {
        switch (msr) {
            case IA32_TSC: s.tsc = v; return;
            case Msr.IA32_SYSENTER_CS: s.sysenterCs = v & 0xFFFF_FFFFL; return;
            case Msr.IA32_SYSENTER_ESP: s.sysenterEsp = canonicalOrGp(v); return;
            case Msr.IA32_SYSENTER_EIP: s.sysenterEip = canonicalOrGp(v); return;
            case Msr.IA32_DEBUGCTL:
                if (v != 0) {
                    throw gp0(); // LBR, BTF and the other debug controls are not implemented
                }
                s.debugctl = v;
                return;
            case Msr.IA32_PAT:
                if (!ConfigurationMsrs.validPat(v)) {
                    throw gp0();
                }
                s.pat = v;
                return;
            case Msr.IA32_EFER: writeEfer(v); return;
            case Msr.IA32_STAR: s.star = v; return;
            case Msr.IA32_LSTAR: s.lstar = canonicalOrGp(v); return;
            case Msr.IA32_CSTAR: s.cstar = canonicalOrGp(v); return;
            case Msr.IA32_FMASK:
                if ((v >>> 32) != 0) {
                    throw gp0();
                }
                s.fmask = v;
                return;
            case Msr.IA32_FS_BASE: s.seg[CpuState.FS].base = canonicalOrGp(v); return;
            case Msr.IA32_GS_BASE: s.seg[CpuState.GS].base = canonicalOrGp(v); return;
            case Msr.IA32_KERNEL_GS_BASE: s.kernelGsBase = canonicalOrGp(v); return;
            case Msr.IA32_TSC_AUX:
                if ((v >>> 32) != 0) {
                    throw gp0();
                }
                s.tscAux = v;
                return;
            default:
                if (!ConfigurationMsrs.has(msr) || s.configurationMsrs.write(msr, v) != null) {
                    throw gp0();
                }
        }
    }

    private long canonicalOrGp(long v) {
        if (!Executor.canonical(v)) {
            throw gp0();
        }
        return v;
    }

    /** WRMSR to IA32_EFER (SDM Vol. 3A, 2.2.1 and 9.8.5): LMA is read-only, LME cannot change while paging is on. */
    private void writeEfer(long v) {
        if ((v & ~EFER_SUPPORTED) != 0) {
            throw gp0();
        }
        long old = s.efer;
        if (((v ^ old) & Efer.LME) != 0 && (s.cr0 & Cr0.PG) != 0) {
            throw gp0();
        }
        long nv = (v & ~Efer.LMA) | (old & Efer.LMA);
        if (((nv ^ old) & Efer.NXE) != 0) {
            m.flush();
        }
        s.efer = nv;
    }

    // ============================================================================================ TSC, XSETBV, HLT

    private void rdtsc(boolean rdtscp) {
        if (rdtscp && !hooks.rdtscpEnabled()) {
            throw ud();
        }
        if ((s.cr4 & Cr4.TSD) != 0 && x.cpl != 0) {
            throw gp0();
        }
        if (rdtscp) {
            hooks.rdtscp(x.i.len);
        } else {
            hooks.rdtsc(x.i.len);
        }
        long tsc = hooks.guestTsc();
        x.setReg(RAX, 4, tsc);
        x.setReg(RDX, 4, tsc >>> 32);
        if (rdtscp) {
            x.setReg(RCX, 4, s.tscAux);
        }
        x.done();
    }

    /** XSETBV (SDM Vol. 2D): the rules of XCR0 (13.3) after the unconditional VM exit. */
    private void xsetbv() {
        if ((s.cr4 & Cr4.OSXSAVE) == 0 || x.i.opPrefix || x.i.rep != 0) {
            throw ud();
        }
        requireCpl0();
        hooks.xsetbv(x.i.len);
        long v = (x.getReg(RDX, 4) << 32) | x.getReg(RAX, 4);
        if ((s.gpr[RCX] & 0xFFFF_FFFFL) != 0 || (v & Xcr0.X87) == 0 || (v & ~XCR0_SUPPORTED) != 0
                || ((v & Xcr0.AVX) != 0 && (v & Xcr0.SSE) == 0)) {
            throw gp0();
        }
        s.xcr0 = v;
        x.done();
    }

    void hlt() {
        requireCpl0();
        hooks.hlt(x.i.len);
        x.done();
        s.activityState = CpuState.ACTIVITY_HLT;
    }

    /**
     * The I/O permission check of protected mode (SDM Vol. 1, 19.5): IOPL, then the TSS I/O permission bitmap. In
     * virtual-8086 mode IOPL does not matter: the bitmap is always consulted (SDM Vol. 3A 20.2.8.1).
     */
    void ioPermission(int port, int size) {
        if (x.realMode || (!x.vm86 && x.cpl <= x.iopl())) {
            return;
        }
        Segment tr = s.tr;
        int type = tr.accessRights & 0x1F;
        long limit = tr.limit & 0xFFFF_FFFFL;
        if (tr.unusable() || (type != 0x09 && type != 0x0B) || limit < 0x67) {
            throw gp0();
        }
        long base = m.read(trLinear(tr, 0x66), 2, x.sysPriv);
        long off = base + (port >>> 3);
        if (off + 1 > limit) {
            throw gp0();
        }
        int bits = (int) m.read(trLinear(tr, off), 2, x.sysPriv);
        if ((bits & (((1 << size) - 1) << (port & 7))) != 0) {
            throw gp0();
        }
    }

    private long trLinear(Segment tr, long off) {
        long l = tr.base + off;
        return s.longModeActive() ? l : l & 0xFFFF_FFFFL;
    }

    // ============================================================================================ fast system calls

    /**
     * SYSCALL (SDM Vol. 2B): #UD outside 64-bit mode or with EFER.SCE = 0 (Intel: compatibility mode too). RCX = the
     * next RIP, R11 = RFLAGS, RFLAGS &= ~IA32_FMASK; CS = STAR[47:32] with RPL 0 and SS = STAR[47:32] + 8, loaded with
     * fixed flat descriptors (64-bit code, DPL 0; data, DPL 0) without reading the GDT; CPL 0.
     */
    private void syscall() {
        if (!x.mode64 || (s.efer & Efer.SCE) == 0) {
            throw ud();
        }
        long next = x.startRip + x.i.len;
        long flags = s.rflags();
        s.gpr[RCX] = next;
        s.gpr[11] = flags;
        int sel = (int) (s.star >>> 32) & 0xFFFF;
        s.seg[CpuState.CS].set(sel & 0xFFFC, 0, 0xFFFF_FFFF, 0xA09B);
        s.seg[CpuState.SS].set((sel + 8) & 0xFFFF, 0, 0xFFFF_FFFF, 0xC093);
        s.setRflags((flags & ~s.fmask) | Rflags.FIXED_1);
        s.rip = s.lstar;
        x.retire();
    }

    /**
     * SYSRET (SDM Vol. 2B): #UD outside 64-bit mode or with EFER.SCE = 0, #GP(0) at CPL > 0 or (REX.W) with a
     * non-canonical RCX (delivered at CPL 0, as on Intel processors). Back to CPL 3: RIP = RCX (ECX without REX.W),
     * RFLAGS = (R11 & 3C7FD7H) | 2, CS = STAR[63:48] + 16 (64-bit) or STAR[63:48] (compatibility mode), SS =
     * STAR[63:48] + 8, RPL 3, fixed flat descriptors.
     */
    private void sysret() {
        if (!x.mode64 || (s.efer & Efer.SCE) == 0) {
            throw ud();
        }
        requireCpl0();
        boolean to64 = x.i.opSize == 8;
        long target = to64 ? s.gpr[RCX] : s.gpr[RCX] & 0xFFFF_FFFFL;
        if (!Executor.canonical(target)) {
            throw gp0();
        }
        int base = (int) (s.star >>> 48) & 0xFFFF;
        if (to64) {
            s.seg[CpuState.CS].set((base + 16) | 3, 0, 0xFFFF_FFFF, 0xA0FB);
        } else {
            s.seg[CpuState.CS].set(base | 3, 0, 0xFFFF_FFFF, 0xC0FB);
        }
        s.seg[CpuState.SS].set((base + 8) | 3, 0, 0xFFFF_FFFF, 0xC0F3);
        s.setRflags((s.gpr[11] & 0x3C_7FD7L) | Rflags.FIXED_1);
        s.rip = target;
        x.retire();
    }

    /**
     * SYSENTER (SDM Vol. 2B): #GP(0) in real mode or with IA32_SYSENTER_CS[15:2] = 0. CS = SYSENTER_CS with RPL 0, SS
     * = CS + 8, fixed flat descriptors (64-bit code in IA-32e mode); RSP/RIP from SYSENTER_ESP/EIP (bits 31:0
     * outside IA-32e mode); VM and IF cleared; CPL 0.
     */
    private void sysenter() {
        if (x.realMode || (s.sysenterCs & 0xFFFC) == 0) {
            throw gp0();
        }
        int sel = (int) s.sysenterCs & 0xFFFC;
        boolean lma = s.longModeActive();
        s.setRflags(s.rflags() & (~(Rflags.VM | Rflags.IF | Rflags.RF)));
        s.seg[CpuState.CS].set(sel, 0, 0xFFFF_FFFF, lma ? 0xA09B : 0xC09B);
        s.seg[CpuState.SS].set(sel + 8, 0, 0xFFFF_FFFF, 0xC093);
        x.setReg(RSP, lma ? 8 : 4, s.sysenterEsp);
        s.rip = lma ? s.sysenterEip : s.sysenterEip & 0xFFFF_FFFFL;
        x.retire();
    }

    /**
     * SYSEXIT (SDM Vol. 2B): #GP(0) in real mode, at CPL > 0, with IA32_SYSENTER_CS[15:2] = 0, or (REX.W) with a
     * non-canonical RCX or RDX. Back to CPL 3: RSP = RCX, RIP = RDX (ECX/EDX without REX.W); CS = SYSENTER_CS + 32
     * (64-bit) or + 16, SS = CS + 8, RPL 3, fixed flat descriptors.
     */
    private void sysexit() {
        if (x.realMode || x.cpl != 0 || (s.sysenterCs & 0xFFFC) == 0) {
            throw gp0();
        }
        int sel = (int) s.sysenterCs & 0xFFFC;
        boolean to64 = x.i.opSize == 8;
        long target = to64 ? s.gpr[RDX] : s.gpr[RDX] & 0xFFFF_FFFFL;
        long sp = to64 ? s.gpr[RCX] : s.gpr[RCX] & 0xFFFF_FFFFL;
        if (to64 && (!Executor.canonical(target) || !Executor.canonical(sp))) {
            throw gp0();
        }
        if (to64) {
            s.seg[CpuState.CS].set((sel + 32) | 3, 0, 0xFFFF_FFFF, 0xA0FB);
            s.seg[CpuState.SS].set((sel + 40) | 3, 0, 0xFFFF_FFFF, 0xC0F3);
        } else {
            s.seg[CpuState.CS].set((sel + 16) | 3, 0, 0xFFFF_FFFF, 0xC0FB);
            s.seg[CpuState.SS].set((sel + 24) | 3, 0, 0xFFFF_FFFF, 0xC0F3);
        }
        s.gpr[RSP] = sp;
        s.rip = target;
        x.retire();
    }
}
