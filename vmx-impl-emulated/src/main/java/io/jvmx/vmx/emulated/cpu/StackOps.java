package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;
import static io.jvmx.vmx.emulated.cpu.Executor.RBP;
import static io.jvmx.vmx.emulated.cpu.Executor.RSP;

import io.jvmx.vmx.api.arch.Rflags;

/**
 * The stack instructions other than PUSH/POP of registers and immediates (which are in {@link MoveOps}): PUSH and POP
 * of memory and of segment registers, PUSHF and POPF, PUSHA and POPA, ENTER and LEAVE (SDM Vol. 2A ENTER, LEAVE;
 * Vol. 2B POP, POPA, POPF, PUSH, PUSHA, PUSHF). The stack operand size is 64 bits by default in 64-bit mode, where
 * 66H makes it 16 (SDM Vol. 1, 3.6.1; {@link Executor#stackOpSize}); the stack address size is 64 bits there, else
 * SS.B. Each checks all its accesses before it changes anything.
 */
final class StackOps {
    private StackOps() {
    }

    /** The op for {@code i}, or null if it is not one of these. */
    static Op select(Insn i) {
        int op = i.opcode;
        if (i.map == Insn.MAP_0F) {
            switch (op) {
                case 0xA0: return PUSH_SREG[CpuState.FS];
                case 0xA1: return POP_SREG[CpuState.FS];
                case 0xA8: return PUSH_SREG[CpuState.GS];
                case 0xA9: return POP_SREG[CpuState.GS];
                default: return null;
            }
        }
        if (i.map != Insn.MAP_1) {
            return null;
        }
        boolean mode64 = i.mode == Insn.MODE64;
        switch (op) {
            // PUSH/POP ES, CS, SS, DS are invalid in 64-bit mode (Table A-2: i64); POP CS does not exist (0F is the
            // escape byte)
            case 0x06: return mode64 ? OpTable.UNDEFINED : PUSH_SREG[CpuState.ES];
            case 0x07: return mode64 ? OpTable.UNDEFINED : POP_SREG[CpuState.ES];
            case 0x0E: return mode64 ? OpTable.UNDEFINED : PUSH_SREG[CpuState.CS];
            case 0x16: return mode64 ? OpTable.UNDEFINED : PUSH_SREG[CpuState.SS];
            case 0x17: return mode64 ? OpTable.UNDEFINED : POP_SREG[CpuState.SS];
            case 0x1E: return mode64 ? OpTable.UNDEFINED : PUSH_SREG[CpuState.DS];
            case 0x1F: return mode64 ? OpTable.UNDEFINED : POP_SREG[CpuState.DS];
            case 0x60: return mode64 ? OpTable.UNDEFINED : PUSHA;
            case 0x61: return mode64 ? OpTable.UNDEFINED : POPA;
            case 0x8F: return i.regOp() == 0 ? POP_E : OpTable.UNDEFINED; // /1-/7: XOP on AMD, #UD on Intel
            case 0x9C: return PUSHF;
            case 0x9D: return POPF;
            case 0xC8: return ENTER;
            case 0xC9: return LEAVE;
            case 0xFF: return i.regOp() == 6 ? PUSH_E : null;
            default: return null;
        }
    }

    /**
     * PUSH ES/CS/SS/DS/FS/GS (06, 0E, 16, 1E, 0F A0, 0F A8): the selector, zero-extended to the stack operand size.
     * (The SDM lets a processor write only its 16 bits for a wider push; writing all of them is the other choice it
     * allows.)
     */
    private static final Op[] PUSH_SREG = new Op[6];
    /**
     * POP ES/SS/DS/FS/GS (07, 17, 1F, 0F A1, 0F A9): loads the segment register with the selector's checks (SDM Vol.
     * 2B POP), then rSP moves; POP SS blocks interrupts and debug traps until after the next instruction (SDM Vol. 3A,
     * 6.8.3). These end their block (see Decoder): a segment load may change the mode's view of memory.
     */
    private static final Op[] POP_SREG = new Op[6];
    private static final String[] SREG = {"ES", "CS", "SS", "DS", "FS", "GS"};

    static {
        for (int sg = 0; sg < 6; sg++) {
            int segment = sg;
            PUSH_SREG[sg] = new Op("PUSH " + SREG[sg]) {
                @Override
                void run(Executor x, Insn i) {
                    int size = x.stackOpSize();
                    x.push(x.s.seg[segment].selector & 0xFFFF, size);
                    x.done();
                }
            };
            POP_SREG[sg] = new Op("POP " + SREG[sg]) {
                @Override
                void run(Executor x, Insn i) {
                    int size = x.stackOpSize();
                    int sas = x.stackAddrSize();
                    long newSp = (x.getSp() + size) & mask(sas);
                    int selector = (int) x.peek(0, size) & 0xFFFF;
                    x.segs.loadData(segment, selector);
                    x.setReg(RSP, sas, newSp);
                    if (segment == CpuState.SS) {
                        x.newShadow |= CpuState.INTERRUPTIBILITY_MOV_SS;
                    }
                    x.done();
                }
            };
        }
    }

    /** PUSH Ev (FF /6): an rSP-based address is computed before rSP is decremented (SDM Vol. 2B PUSH). */
    private static final Op PUSH_E = new Op("PUSH Ev") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            long v = i.mod == 3 ? x.getReg(i.rm, size) : x.readMem(i.eaSeg, x.ea(), size);
            x.push(v, size);
            x.done();
        }
    };

    /**
     * POP Ev (8F /0): an rSP-based destination address is computed after rSP is incremented; POP into rSP leaves the
     * popped value there (SDM Vol. 2B POP). The store comes before rSP changes, so a fault on it leaves rSP as it was.
     */
    private static final Op POP_E = new Op("POP Ev") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            long v = x.peek(0, size);
            int sas = x.stackAddrSize();
            long newSp = (x.getSp() + size) & mask(sas);
            if (i.mod == 3) {
                x.setReg(RSP, sas, newSp);
                x.setReg(i.rm, size, v);
            } else {
                long off = i.sibBase == RSP ? (x.ea() + size) & x.addrMask() : x.ea();
                x.writeMem(i.eaSeg, off, size, v);
                x.setReg(RSP, sas, newSp);
            }
            x.done();
        }
    };

    /** PUSHF/PUSHFD/PUSHFQ (9C): RFLAGS with VM and RF cleared in the image (SDM Vol. 2B PUSHF). */
    private static final Op PUSHF = new Op("PUSHF") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            if (x.vm86) {
                x.v86.pushf(size); // IOPL-sensitive (SDM Vol. 3A 20.2.7)
                return;
            }
            x.push(x.s.rflags() & ~(Rflags.VM | Rflags.RF), size);
            x.done();
        }
    };

    /**
     * POPF/POPFD/POPFQ (9D; SDM Vol. 2B POPF, "Operation" outside virtual-8086 mode): the status flags, TF, DF, NT, AC
     * and ID always; IOPL only at CPL 0; IF only at CPL <= IOPL (else left alone, without a fault); VIP, VIF and VM
     * never; RF cleared. A 16-bit POPF changes bits 15:0 only. Ends its block: TF, IF and AC decide what comes next.
     */
    private static final Op POPF = new Op("POPF") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            if (x.vm86) {
                x.v86.popf(size); // IOPL-sensitive (SDM Vol. 3A 20.2.7)
                return;
            }
            long v = x.peek(0, size);
            long changeable = Alu.STATUS | Rflags.TF | Rflags.DF | Rflags.NT | Rflags.AC | Rflags.ID;
            if (x.realMode || x.cpl == 0) {
                changeable |= Rflags.IOPL | Rflags.IF;
            } else if (x.cpl <= x.iopl()) {
                changeable |= Rflags.IF;
            }
            if (size == 2) {
                changeable &= 0xFFFF;
            }
            x.addSp(size);
            CpuState s = x.s;
            s.setRflags(((s.rflags() & ~changeable) | (v & changeable) | Rflags.FIXED_1) & ~Rflags.RF);
            x.done();
        }
    };

    /**
     * PUSHA/PUSHAD (60, not in 64-bit mode): AX CX DX BX, the SP before the instruction, BP SI DI, at the operand
     * size (SDM Vol. 2B PUSHA).
     */
    private static final Op PUSHA = new Op("PUSHA") {
        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            long sp = x.getSp();
            for (int r = 0; r < 8; r++) {
                x.stagePush((long) (r + 1) * size, size, r == RSP ? sp : x.s.gpr[r]);
            }
            x.commitStaged();
            x.addSp(-8L * size);
            x.done();
        }
    };

    /** POPA/POPAD (61, not in 64-bit mode): DI SI BP, (the SP slot skipped), BX DX CX AX (SDM Vol. 2B POPA). */
    private static final Op POPA = new Op("POPA") {
        @Override
        void run(Executor x, Insn i) {
            int size = i.opSize;
            long di = x.peek(0, size), si = x.peek(size, size), bp = x.peek(2 * size, size),
                    bx = x.peek(4 * size, size), dx = x.peek(5 * size, size), cx = x.peek(6 * size, size),
                    ax = x.peek(7 * size, size);
            x.setReg(Executor.RDI, size, di);
            x.setReg(Executor.RSI, size, si);
            x.setReg(RBP, size, bp);
            x.setReg(Executor.RBX, size, bx);
            x.setReg(Executor.RDX, size, dx);
            x.setReg(Executor.RCX, size, cx);
            x.setReg(Executor.RAX, size, ax);
            x.addSp(8L * size);
            x.done();
        }
    };

    /**
     * ENTER imm16, imm8 (C8; SDM Vol. 2A ENTER): pushes rBP; for a nesting level (imm8 MOD 32) above 0, pushes the
     * level - 1 frame pointers at rBP - size, rBP - 2 * size ... and then the new frame pointer (rSP after the first
     * push); rBP := that frame pointer, rSP := rSP - imm16. The copies are made one after the other, as the
     * processor makes them: a frame pointer read after an earlier push overwrote it is read as overwritten. The
     * processor also checks that a write at the final rSP would not fault ("#PF ... if a write using the final value
     * of the stack pointer would cause a page fault", #SS beyond the limit), so that is checked with the other
     * accesses, all before anything is written.
     */
    private static final Op ENTER = new Op("ENTER Iw,Ib") {
        @Override
        void run(Executor x, Insn i) {
            int alloc = (int) i.imm & 0xFFFF;
            int level = (int) i.imm2 & 0x1F;
            int size = x.stackOpSize();
            int sas = x.stackAddrSize();
            long sm = mask(sas);
            long frameTemp = (x.getSp() - size) & sm;
            long bp = x.getReg(RBP, sas);
            int pushes = level == 0 ? 1 : level + 1;
            long finalSp = (frameTemp - (long) (pushes - 1) * size - alloc) & sm;
            for (int k = 0; k < pushes; k++) {
                x.m.probe(x.stackLin((frameTemp - (long) k * size) & sm, size, true), size, Mmu.WRITE, x.dataPriv);
            }
            for (int k = 1; k < level; k++) {
                x.m.probe(x.stackLin((bp - (long) k * size) & sm, size, false), size, Mmu.READ, x.dataPriv);
            }
            x.m.probe(x.stackLin(finalSp, size, true), size, Mmu.WRITE, x.dataPriv);
            // everything is reachable: now in the processor's order
            x.m.write(x.stackLin(frameTemp, size, true), size, x.getReg(RBP, size), x.dataPriv);
            for (int k = 1; k < level; k++) {
                long v = x.m.read(x.stackLin((bp - (long) k * size) & sm, size, false), size, x.dataPriv);
                x.m.write(x.stackLin((frameTemp - (long) k * size) & sm, size, true), size, v, x.dataPriv);
            }
            if (level > 0) {
                x.m.write(x.stackLin((frameTemp - (long) level * size) & sm, size, true), size, frameTemp,
                        x.dataPriv);
            }
            x.setReg(RBP, size, frameTemp);
            x.setReg(RSP, sas, finalSp);
            x.done();
        }
    };

    /** LEAVE (C9; SDM Vol. 2A LEAVE): rSP := rBP (at the stack address size), then POP rBP. */
    private static final Op LEAVE = new Op("LEAVE") {
        @Override
        void run(Executor x, Insn i) {
            int size = x.stackOpSize();
            int sas = x.stackAddrSize();
            long bp = x.getReg(RBP, sas);
            long v = x.m.read(x.stackLin(bp, size, false), size, x.dataPriv);
            x.setReg(RSP, sas, (bp + size) & mask(sas));
            x.setReg(RBP, size, v);
            x.done();
        }
    };
}
