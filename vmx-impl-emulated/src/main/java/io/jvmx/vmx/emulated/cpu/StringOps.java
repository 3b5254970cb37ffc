package io.jvmx.vmx.emulated.cpu;

import static io.jvmx.vmx.emulated.cpu.Alu.mask;
import static io.jvmx.vmx.emulated.cpu.CpuState.DS;
import static io.jvmx.vmx.emulated.cpu.CpuState.ES;
import static io.jvmx.vmx.emulated.cpu.Executor.RAX;
import static io.jvmx.vmx.emulated.cpu.Executor.RCX;
import static io.jvmx.vmx.emulated.cpu.Executor.RDI;
import static io.jvmx.vmx.emulated.cpu.Executor.RDX;
import static io.jvmx.vmx.emulated.cpu.Executor.RSI;

import io.jvmx.vmx.api.arch.Rflags;

/**
 * The string instructions MOVS, CMPS, STOS, LODS, SCAS, INS, OUTS with REP/REPE/REPNE (SDM Vol. 2B, each page, and
 * REP/REPE/REPZ/REPNE/REPNZ). An op runs one iteration after the other: each retires on its own and RIP stays on the
 * instruction while iterations remain, so that events and VM exits can come between iterations with rCX, rSI and rDI
 * up to date; the block's budget bounds how many run at once. The source segment may be overridden, the destination
 * is always ES:rDI.
 */
final class StringOps {
    private StringOps() {
    }

    private static final Op[] OPS = new Op[256];

    static {
        String[] names = {"INSB", "INS", "OUTSB", "OUTS"};
        for (int op = 0x6C; op <= 0x6F; op++) {
            OPS[op] = new StringOp(op, names[op - 0x6C]);
        }
        String[] names2 = {"MOVSB", "MOVS", "CMPSB", "CMPS", null, null, "STOSB", "STOS", "LODSB", "LODS", "SCASB",
                "SCAS"};
        for (int op = 0xA4; op <= 0xAF; op++) {
            if (names2[op - 0xA4] != null) {
                OPS[op] = new StringOp(op, names2[op - 0xA4]);
            }
        }
    }

    /** The op for {@code i}, or null if it is not a string instruction. */
    static Op select(Insn i) {
        return i.map == Insn.MAP_1 ? OPS[i.opcode] : null;
    }

    private static final class StringOp extends Op {
        private final int opcode;

        StringOp(int opcode, String name) {
            super(name);
            this.opcode = opcode;
        }

        @Override
        void run(Executor x, Insn i) {
            while (iteration(x, i, opcode)) {
                // the next iteration belongs to the same block
            }
        }
    }

    /**
     * REP MOVS / REP STOS in 64-bit mode, counting upwards: all but the last of the iterations that stay within the
     * current source and destination pages (and the block's budget) at once, as whole-page-range copies between the
     * translated pages; the last one then runs the ordinary way and decides RIP. Each iteration still retires on its
     * own account (TSC, retired-instruction count), and the registers end as after that many single iterations.
     * Overlapping ranges are copied element by element, upwards, as the iterations do (a source element written in
     * part by an earlier iteration is read again; the differential tests' long REP MOVS forms check this).
     */
    private static void bulkMoveOrStore(Executor x, Insn i, boolean move, int size, long count) {
        if (!x.mode64 || i.addrSize != 8 || (x.s.rflagsControl() & Rflags.DF) != 0
                || !x.m.bulkAllowed(x.dataPriv)) {
            return;
        }
        long di = x.s.gpr[RDI];
        long dLin = x.lin(ES, di, size, true);
        long n = Math.min(Math.min(count, x.budgetLeft), (4096 - (dLin & 0xFFF)) / size);
        long sLin = 0;
        if (move) {
            sLin = x.lin(i.segOv >= 0 ? i.segOv : DS, x.s.gpr[RSI], size, false);
            n = Math.min(n, (4096 - (sLin & 0xFFF)) / size);
        }
        long k = n - 1; // the last one runs the ordinary way
        if (k < 1) {
            return;
        }
        long hd = x.m.translate(dLin, Mmu.WRITE, x.dataPriv, size);
        long hs = move ? x.m.translate(sLin, Mmu.READ, x.dataPriv, size) : 0;
        if (hd < 0 || hs < 0) {
            return; // no memory behind one of them: the ordinary path knows what that means
        }
        int bytes = (int) (k * size);
        if (move) {
            if (hd > hs && hd < hs + bytes) {
                // an element's source may hold what an earlier iteration wrote: element by element, upwards
                for (int b = 0; b < bytes; b += size) {
                    switch (size) {
                        case 1: x.mem.write8(hd + b, x.mem.read8(hs + b)); break;
                        case 2: x.mem.write16(hd + b, x.mem.read16(hs + b)); break;
                        case 4: x.mem.write32(hd + b, x.mem.read32(hs + b)); break;
                        default: x.mem.write64(hd + b, x.mem.read64(hs + b)); break;
                    }
                }
            } else {
                x.mem.read(hs, x.bulk, 0, bytes);
                x.mem.write(hd, x.bulk, 0, bytes);
            }
            x.s.gpr[RSI] += bytes;
        } else {
            long v = x.s.gpr[RAX];
            for (int b = 0; b < bytes; b++) {
                x.bulk[b] = (byte) (v >>> (8 * (b % size)));
            }
            x.mem.write(hd, x.bulk, 0, bytes);
        }
        x.s.gpr[RDI] += bytes;
        x.s.gpr[RCX] -= k;
        x.s.instructionsRetired += k;
        x.s.tsc += k;
        x.budgetLeft -= k;
    }

    /** One iteration; true if another one is to run right away (it retired, and the block has room for more). */
    private static boolean iteration(Executor x, Insn i, int op) {
        boolean io = op < 0x70;
        int size = (op & 1) == 0 ? 1 : io ? x.ioSize() : i.opSize;
        boolean repeated = i.rep != 0;
        long count = 0;
        if (repeated) {
            count = x.getReg(RCX, i.addrSize);
            if (count == 0) {
                x.done();
                return false;
            }
        }
        if (count > 1 && x.budgetLeft > 1 && (op == 0xA4 || op == 0xA5 || op == 0xAA || op == 0xAB)) {
            bulkMoveOrStore(x, i, op == 0xA4 || op == 0xA5, size, count);
            count = x.getReg(RCX, i.addrSize);
        }
        long am = x.addrMask();
        long delta = (x.s.rflagsControl() & Rflags.DF) != 0 ? -size : size;
        int src = i.segOv >= 0 ? i.segOv : DS;
        long si = x.getReg(RSI, i.addrSize);
        long di = x.getReg(RDI, i.addrSize);
        boolean advSi = false, advDi = false, compare = false;
        switch (op) {
            case 0xA4: case 0xA5: {
                long v = x.readMem(src, si, size);
                x.writeMem(ES, di, size, v);
                advSi = advDi = true;
                break;
            }
            case 0xA6: case 0xA7: {
                long a = x.readMem(src, si, size);
                long b = x.readMem(ES, di, size);
                x.alu.arith(Alu.CMP, a, b, size, x.s);
                advSi = advDi = compare = true;
                break;
            }
            case 0xAA: case 0xAB:
                x.writeMem(ES, di, size, x.getReg(RAX, size));
                advDi = true;
                break;
            case 0xAC: case 0xAD: {
                long v = x.readMem(src, si, size);
                x.setReg(RAX, size, v);
                advSi = true;
                break;
            }
            case 0xAE: case 0xAF: {
                long b = x.readMem(ES, di, size);
                x.alu.arith(Alu.CMP, x.getReg(RAX, size), b, size, x.s);
                advDi = compare = true;
                break;
            }
            case 0x6C: case 0x6D: {
                int port = (int) x.s.gpr[RDX] & 0xFFFF;
                x.sys.ioPermission(port, size);
                x.s.stringIoAddressSize = i.addrSize == 2 ? 0 : i.addrSize == 4 ? 1 : 2;
                x.s.stringIoSegment = ES;
                x.hooks.io(port, size, true, true, repeated, false, x.rawLinear(ES, di), i.len);
                x.writeMem(ES, di, size, mask(size)); // no device: all ones
                if (x.debug.ioBreakpoints) {
                    x.debug.ioAccess(port, size);
                }
                advDi = true;
                break;
            }
            default: {
                int port = (int) x.s.gpr[RDX] & 0xFFFF;
                x.sys.ioPermission(port, size);
                x.s.stringIoAddressSize = i.addrSize == 2 ? 0 : i.addrSize == 4 ? 1 : 2;
                x.s.stringIoSegment = src;
                x.hooks.io(port, size, false, true, repeated, false, x.rawLinear(src, si), i.len);
                x.readMem(src, si, size); // the access still happens (and may fault); the value goes nowhere
                if (x.debug.ioBreakpoints) {
                    x.debug.ioAccess(port, size);
                }
                advSi = true;
                break;
            }
        }
        if (compare) {
            x.alu.commit(x.s);
        }
        if (advSi) {
            x.setReg(RSI, i.addrSize, (si + delta) & am);
        }
        if (advDi) {
            x.setReg(RDI, i.addrSize, (di + delta) & am);
        }
        if (repeated) {
            count = (count - 1) & am;
            x.setReg(RCX, i.addrSize, count);
            boolean zf = x.s.condition(4); // E: ZF = 1
            boolean more = count != 0 && !(compare && (i.rep == 0xF3 ? !zf : zf));
            if (more) {
                x.repIncomplete = true;
                x.finish(x.startRip);
                if (x.budgetLeft > 1 && !io) {
                    x.budgetLeft--;
                    return true;
                }
                return false;
            }
        }
        x.repIncomplete = false;
        x.done();
        return false;
    }
}
