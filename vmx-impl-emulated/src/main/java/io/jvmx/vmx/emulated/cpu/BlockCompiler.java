package io.jvmx.vmx.emulated.cpu;

import static org.objectweb.asm.Opcodes.*;

import io.jvmx.vmx.api.arch.Rflags;

import org.objectweb.asm.ClassWriter;
import org.objectweb.asm.Label;
import org.objectweb.asm.MethodVisitor;
import org.objectweb.asm.Type;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * Translates hot runs of decoded instructions into JVM bytecode: one hidden class per block ({@link CompiledBlock}).
 *
 * <p>A block is the fall-through chain of instructions from a hot jump target (or a hot place where execution enters
 * a page without a jump), as far as the successor links go within one page, before any instruction that ends a block
 * ({@link Insn#endsBlock}), at most {@link #MAX_INSTRUCTIONS}. The common register forms (MOV, ADD/ADC/OR/AND/SUB/
 * XOR/CMP/TEST incl. byte registers and immediates, INC/DEC, NOT/NEG, LEA, MOVZX, MOVSXD, SHL/SHR/SAR by an immediate,
 * by 1 and by CL incl. bytes and words, CMOVcc, SETcc, two-operand IMUL, the NOP Ev, Jcc and JMP, also to targets
 * outside the page), the
 * memory forms of 64-bit mode (loads, stores incl. 8- and 16-bit ones, ALU with memory operands; PUSH/POP r64, CALL
 * rel32 and RET) become inline bytecode with their registers and immediates as constants; a conditional jump right
 * after the compare that set its flags tests the compare's operands directly; jumps to an instruction of the block
 * stay in the method (a loop stays a loop). Every other instruction calls its op,
 * as the interpreter does. Between the calls, RIP, the retired-instruction count, the TSC and the block budget are
 * brought up to date only where something can see them (before an op that may fault or exit, at every way out), so
 * faults and exits find the state of the interpreter; the lazy flags record is written by every flag-setting
 * instruction, as in the interpreter.
 *
 * <p>The budget stays exact: a block runs only if the budget left covers all its instructions, and goes round again
 * only if it still does. RIPs are relative to the RIP the block was entered with (one page may be mapped at several
 * linear addresses; the decodings do not depend on where). The compiled code reads and writes the same fields as the
 * ops, so it and the interpreter can take turns at any instruction boundary.
 */
final class BlockCompiler {
    /** The longest run of instructions one block holds. */
    static final int MAX_INSTRUCTIONS = 64;
    /** Blocks shorter than this are not worth a class. */
    static final int MIN_INSTRUCTIONS = 2;

    private static final MethodHandles.Lookup LOOKUP = MethodHandles.lookup();
    private static final String BLOCK = Type.getInternalName(CompiledBlock.class);
    private static final String EXECUTOR = Type.getInternalName(Executor.class);
    private static final String STATE = Type.getInternalName(CpuState.class);
    private static final String INSN = Type.getInternalName(Insn.class);
    private static final String PAGE = Type.getInternalName(CodeCache.Page.class);
    private static final String OP_RUN = Type.getMethodDescriptor(Type.VOID_TYPE, Type.getType(Executor.class),
            Type.getType(Insn.class));

    // what the translator does with an instruction
    private static final int CALL = 0, MOV_RR = 1, MOV_RI = 2, ALU_RR = 3, ALU_RI = 4, INC_DEC = 5, LEA = 6, JCC = 7,
            JMP = 8, MOVZX = 9, SHIFT = 10;
    // memory forms (64-bit mode): loads, stores, read-modify-writes and compares of a ModRM memory operand
    private static final int MOV_RM = 11, MOV_MR = 12, MOV_MI = 13, MOVZX_M = 14, ALU_RM = 15, ALU_MR = 16,
            ALU_MI = 17;
    // more register forms: CMOVcc, two-operand IMUL, NOT and NEG, and the NOP Ev
    private static final int CMOV = 18, IMUL_RR = 19, NOT_NEG = 20, NOP = 21;
    // the stack in 64-bit mode with 64-bit operands: PUSH r, POP r, CALL rel32, RET
    private static final int PUSH_R = 22, POP_R = 23, CALL_REL = 24, RET_NEAR = 25;
    // SETcc r8 and MOVSXD r, r32
    private static final int SETCC = 26, MOVSXD = 27;
    /** TEST, as an ALU operation of the translator (not a group-1 number). */
    private static final int TEST = 8;

    // locals of run(Executor x): K is the index of the instruction that may fault now (-1: the state is up to date)
    private static final int X = 1, S = 2, ENTRY = 3, G = 5, A = 6, B = 8, R = 10, T = 12, K = 14, LIN = 15, EXC = 17;
    private static final String MMU = Type.getInternalName(Mmu.class);
    private static final String FAULT = Type.getInternalName(CpuFault.class);
    private static final String SEGMENT = Type.getInternalName(Segment.class);

    private BlockCompiler() {
    }

    /** The instructions a block from {@code head} would hold, in order. */
    static List<Insn> chain(Insn head) {
        List<Insn> run = new ArrayList<>();
        for (Insn i = head; i != null && !i.endsBlock && run.size() < MAX_INSTRUCTIONS; i = i.next) {
            run.add(i);
        }
        return run;
    }

    /**
     * Compiles the block that starts at {@code head}, decoded in {@code page} at offset {@code pageOffset}; null if
     * it is too short.
     */
    static CompiledBlock compile(Insn head, CodeCache.Page page, int pageOffset) {
        List<Insn> run = chain(head);
        if (run.size() < MIN_INSTRUCTIONS) {
            return null;
        }
        Generator g = new Generator(run, page, pageOffset);
        byte[] bytes = g.generate();
        try {
            MethodHandles.Lookup hidden = LOOKUP.defineHiddenClassWithClassData(bytes, List.copyOf(g.constants), true);
            return (CompiledBlock) hidden.findConstructor(hidden.lookupClass(), MethodType.methodType(void.class))
                    .invoke();
        } catch (Throwable e) {
            throw new IllegalStateException("translating a block of " + run.size() + " instructions failed", e);
        }
    }

    /** What the translator does with {@code i}: an inline form, or CALL its op. */
    static int form(Insn i) {
        if (i.lock || i.vex) {
            return CALL;
        }
        int op = i.opcode;
        boolean wide = i.opSize == 4 || i.opSize == 8;
        if (i.map == Insn.MAP_0F && op == 0x1F && OpTable.isGeneric0F(i)) {
            return NOP; // NOP Ev: no memory access, nothing but RIP changes (SystemOps.execute0F)
        }
        if (i.map == Insn.MAP_1 && op == 0x8D && i.mod != 3 && wide && i.addrSize != 2) {
            return LEA; // no memory access: any mode with 32- or 64-bit addressing
        }
        if (i.mod != 3 && i.hasModrm) {
            return memoryForm(i);
        }
        boolean reg = i.mod == 3;
        boolean branches = i.mode == Insn.MODE64 || i.opSize == 4; // a 16-bit IP would wrap at 64 KiB
        // byte registers: with REX SPL..DIL and R8B..R15B, without it AL..BL only (not AH..BH, the high-byte view)
        boolean byteRm = i.rex != 0 || i.rm < 4;
        boolean byteRegs = i.rex != 0 || (i.reg < 4 && i.rm < 4);
        if (i.map == Insn.MAP_0F) {
            if (op >= 0x80 && op <= 0x8F) {
                return branches ? JCC : CALL;
            }
            if ((op == 0xB6 || op == 0xB7) && reg && wide && !(op == 0xB6 && i.rex == 0 && i.rm >= 4 && i.rm < 8)) {
                return MOVZX; // not AH..BH: those need the high-byte view
            }
            if (op >= 0x40 && op <= 0x4F && reg && wide) {
                return CMOV;
            }
            if (op == 0xAF && reg && wide) {
                return IMUL_RR;
            }
            if (op >= 0x90 && op <= 0x9F && reg && byteRm) {
                return SETCC;
            }
            return CALL;
        }
        if (i.map != Insn.MAP_1) {
            return CALL;
        }
        if (op >= 0x70 && op <= 0x7F) {
            return branches ? JCC : CALL;
        }
        if (op == 0xEB || op == 0xE9) {
            return branches ? JMP : CALL;
        }
        if (op < 0x40 && aluSupported(op >>> 3)) {
            switch (op & 7) {
                case 0: case 2: return reg && byteRegs ? ALU_RR : CALL;
                case 1: case 3: return reg && wide ? ALU_RR : CALL;
                case 4: return ALU_RI; // AL, Ib
                case 5: return wide ? ALU_RI : CALL;
                default: return CALL;
            }
        }
        boolean stack64 = i.mode == Insn.MODE64 && !(i.opPrefix && (i.rex & 8) == 0); // Executor.stackOpSize 8
        if (op >= 0x50 && op <= 0x5F) {
            return stack64 ? (op < 0x58 ? PUSH_R : POP_R) : CALL;
        }
        if (op == 0xE8 || op == 0xC3) {
            return i.mode == Insn.MODE64 ? (op == 0xE8 ? CALL_REL : RET_NEAR) : CALL; // Executor.branchSize 8
        }
        switch (op) {
            case 0x63: return reg && wide && i.mode == Insn.MODE64 ? MOVSXD : CALL; // ARPL outside 64-bit mode
            case 0x84: return reg && byteRegs ? ALU_RR : CALL;               // TEST Eb,Gb
            case 0x80: return reg && byteRm && aluSupported(i.regOp()) ? ALU_RI : CALL;
            case 0xF6: return reg && byteRm && i.regOp() <= 1 ? ALU_RI : CALL; // TEST Eb,Ib
            case 0xA8: return ALU_RI;                                         // TEST AL,Ib
            case 0xC0: case 0xD0: case 0xD2:
                return reg && byteRm && i.regOp() >= 4 ? SHIFT : CALL;        // SHL SHR SAL SAR Eb
            case 0xC1: case 0xD1: case 0xD3:
                return reg && i.regOp() >= 4 ? SHIFT : CALL;                  // Ev, 16-bit included
            case 0xF7:
                if (reg && wide && (i.regOp() == 2 || i.regOp() == 3)) {
                    return NOT_NEG;
                }
                break;
            default: break;
        }
        if (!wide) {
            return CALL;
        }
        switch (op) {
            case 0x89: case 0x8B: return reg ? MOV_RR : CALL;
            case 0x85: return reg ? ALU_RR : CALL;
            case 0xA9: return ALU_RI;
            case 0x81: case 0x83: return reg && aluSupported(i.regOp()) ? ALU_RI : CALL;
            case 0xF7: return reg && i.regOp() <= 1 ? ALU_RI : CALL;
            case 0xC7: return reg && i.regOp() == 0 ? MOV_RI : CALL;
            case 0xFF: return reg && i.regOp() <= 1 ? INC_DEC : CALL;
            default:
                return op >= 0xB8 && op <= 0xBF ? MOV_RI : CALL;
        }
    }

    /**
     * The inline form of an instruction with a memory operand, or CALL: 64-bit mode only (where segmentation is the
     * canonical check plus the FS/GS base), byte registers only where they are not AH..BH.
     */
    private static int memoryForm(Insn i) {
        if (i.mode != Insn.MODE64 || i.addrSize == 2) {
            return CALL;
        }
        int op = i.opcode;
        boolean wide = i.opSize == 4 || i.opSize == 8;
        boolean byteReg = i.rex != 0 || i.reg < 4;
        if (i.map == Insn.MAP_0F) {
            return (op == 0xB6 || op == 0xB7) && wide ? MOVZX_M : CALL;
        }
        if (i.map != Insn.MAP_1) {
            return CALL;
        }
        if (op < 0x40 && aluSupported(op >>> 3)) {
            switch (op & 7) {
                case 0: return byteReg ? ALU_MR : CALL;
                case 1: return wide ? ALU_MR : CALL;
                case 2: return byteReg ? ALU_RM : CALL;
                case 3: return wide ? ALU_RM : CALL;
                default: return CALL;
            }
        }
        switch (op) {
            case 0x8B: return MOV_RM; // 16-, 32- and 64-bit
            case 0x8A: return byteReg ? MOV_RM : CALL;
            case 0x89: return MOV_MR;
            case 0x88: return byteReg ? MOV_MR : CALL;
            case 0xC7: return i.regOp() == 0 ? MOV_MI : CALL;
            case 0xC6: return i.regOp() == 0 ? MOV_MI : CALL;
            case 0x85: return wide ? ALU_MR : CALL; // TEST Ev,Gv
            case 0x80: return aluSupported(i.regOp()) ? ALU_MI : CALL;
            case 0x81: case 0x83: return wide && aluSupported(i.regOp()) ? ALU_MI : CALL;
            case 0xF6: return i.regOp() <= 1 ? ALU_MI : CALL;        // TEST Eb,Ib
            case 0xF7: return wide && i.regOp() <= 1 ? ALU_MI : CALL; // TEST Ev,Iz
            default: return CALL;
        }
    }

    /** ADD, OR, ADC, AND, SUB, XOR, CMP: not SBB, whose flags are eager (Alu.arith). */
    private static boolean aluSupported(int aop) {
        return aop != Alu.SBB;
    }

    /** Generates the hidden class of one block. */
    private static final class Generator {
        final List<Insn> run;
        final int n;
        final int[] offset;
        final boolean mode64;
        final CodeCache.Page page;
        final int pageOffset;
        final List<Object> constants = new ArrayList<>();
        final String name = Type.getInternalName(BlockCompiler.class) + "$Block";
        /** Offsets of instructions that a translated jump of the block goes to: their labels can be entered twice. */
        final Map<Integer, Integer> jumpTargets = new HashMap<>();
        MethodVisitor m;
        Label[] at;
        Label exitTrue;
        /** For each instruction that may fault inline: how many instructions were pending when it started (-1: none). */
        final int[] pendingAtFault;
        /** Instructions retired since RIP, the counters and the budget were last brought up to date. */
        int pending;
        /** The lazy-flags kind the previous instruction recorded with its operands in locals A, B, R (0: none). */
        int lastFlags;
        int lastSize;

        Generator(List<Insn> run, CodeCache.Page page, int pageOffset) {
            this.run = run;
            this.n = run.size();
            this.page = page;
            this.pageOffset = pageOffset;
            this.mode64 = run.get(0).mode == Insn.MODE64;
            this.offset = new int[n + 1];
            this.pendingAtFault = new int[n];
            java.util.Arrays.fill(pendingAtFault, -1);
            for (int k = 0; k < n; k++) {
                offset[k + 1] = offset[k] + run.get(k).len;
            }
            for (int k = 0; k < n; k++) {
                Insn i = run.get(k);
                int f = formAt(k);
                if (f == JCC || f == JMP) {
                    int target = offset[k + 1] + (int) i.imm;
                    for (int j = 0; j <= n - 1; j++) {
                        if (offset[j] == target) {
                            jumpTargets.put(target, j);
                        }
                    }
                }
            }
        }

        /** The form of instruction k in this block. */
        int formAt(int k) {
            return form(run.get(k));
        }

        byte[] generate() {
            ClassWriter cw = new ClassWriter(ClassWriter.COMPUTE_FRAMES | ClassWriter.COMPUTE_MAXS);
            cw.visit(V17, ACC_FINAL, name, null, BLOCK, null);
            // constants: [insn 0..n-1, op 0..n-1, page]
            for (int k = 0; k < n; k++) {
                constants.add(run.get(k));
            }
            for (int k = 0; k < n; k++) {
                constants.add(run.get(k).op);
            }
            constants.add(page);
            for (int k = 0; k < 2 * n + 1; k++) {
                cw.visitField(ACC_PRIVATE | ACC_STATIC | ACC_FINAL, constantName(k), constantDesc(k), null, null)
                        .visitEnd();
            }
            MethodVisitor clinit = cw.visitMethod(ACC_STATIC, "<clinit>", "()V", null, null);
            clinit.visitCode();
            for (int k = 0; k < 2 * n + 1; k++) {
                clinit.visitMethodInsn(INVOKESTATIC, "java/lang/invoke/MethodHandles", "lookup",
                        "()Ljava/lang/invoke/MethodHandles$Lookup;", false);
                clinit.visitLdcInsn("_");
                clinit.visitLdcInsn(Type.getType(Object.class));
                clinit.visitLdcInsn(k);
                clinit.visitMethodInsn(INVOKESTATIC, "java/lang/invoke/MethodHandles", "classDataAt",
                        "(Ljava/lang/invoke/MethodHandles$Lookup;Ljava/lang/String;Ljava/lang/Class;I)Ljava/lang/Object;",
                        false);
                clinit.visitTypeInsn(CHECKCAST, Type.getType(constantDesc(k)).getInternalName());
                clinit.visitFieldInsn(PUTSTATIC, name, constantName(k), constantDesc(k));
            }
            clinit.visitInsn(RETURN);
            clinit.visitMaxs(0, 0);
            clinit.visitEnd();

            MethodVisitor init = cw.visitMethod(0, "<init>", "()V", null, null);
            init.visitCode();
            init.visitVarInsn(ALOAD, 0);
            init.visitMethodInsn(INVOKESPECIAL, BLOCK, "<init>", "()V", false);
            init.visitInsn(RETURN);
            init.visitMaxs(0, 0);
            init.visitEnd();

            m = cw.visitMethod(0, "run", "(L" + EXECUTOR + ";)Z", null, null);
            m.visitCode();
            generateRun();
            m.visitMaxs(0, 0);
            m.visitEnd();
            cw.visitEnd();
            return cw.toByteArray();
        }

        private String constantName(int k) {
            return k < n ? "i" + k : k < 2 * n ? "op" + (k - n) : "page";
        }

        private String constantDesc(int k) {
            return k < n ? "L" + INSN + ";" : k < 2 * n ? Type.getDescriptor(run.get(k - n).op.getClass())
                    : "L" + PAGE + ";";
        }

        private void generateRun() {
            exitTrue = new Label();
            Label refuse = new Label();
            // s = x.s; entry = s.rip; g = s.gpr
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "s", "L" + STATE + ";");
            m.visitVarInsn(ASTORE, S);
            m.visitVarInsn(ALOAD, S);
            m.visitFieldInsn(GETFIELD, STATE, "rip", "J");
            m.visitVarInsn(LSTORE, ENTRY);
            m.visitVarInsn(ALOAD, S);
            m.visitFieldInsn(GETFIELD, STATE, "gpr", "[J");
            m.visitVarInsn(ASTORE, G);
            // run only if the budget covers the whole block, and not with RF set (the interpreter clears it)
            budgetCheck(refuse);
            m.visitVarInsn(ALOAD, S);
            m.visitMethodInsn(INVOKEVIRTUAL, STATE, "rflagsControl", "()J", false);
            m.visitLdcInsn(Rflags.RF);
            m.visitInsn(LAND);
            m.visitInsn(LCONST_0);
            m.visitInsn(LCMP);
            m.visitJumpInsn(IFNE, refuse);

            at = new Label[n];
            for (int k = 0; k < n; k++) {
                at[k] = new Label();
            }
            // a fault or VM exit in an inline instruction leaves through the handler below, which brings RIP, the
            // counters and the budget to where that instruction started, as the interpreter would have them
            Label tryStart = new Label();
            Label tryEnd = new Label();
            Label handler = new Label();
            m.visitTryCatchBlock(tryStart, tryEnd, handler, "java/lang/RuntimeException");
            m.visitLdcInsn(-1);
            m.visitVarInsn(ISTORE, K);
            m.visitLabel(tryStart);
            for (int k = 0; k < n; k++) {
                boolean target = jumpTargets.containsKey(offset[k]);
                if (target) {
                    flush(offset[k]); // arrivals by a jump come flushed: so must the one that falls through
                }
                m.visitLabel(at[k]);
                if (target) {
                    lastFlags = 0; // reached from elsewhere too: what the previous instruction left is not known
                }
                Insn i = run.get(k);
                switch (formAt(k)) {
                    case MOV_RR: movRR(i); break;
                    case MOV_RI: movRI(i); break;
                    case ALU_RR: aluRR(i); break;
                    case ALU_RI: aluRI(i); break;
                    case INC_DEC: incDec(i); break;
                    case LEA: lea(k, i); break;
                    case MOVZX: movzx(i); break;
                    case SHIFT: shift(i); break;
                    case CMOV: cmov(i); break;
                    case IMUL_RR: imul(i); break;
                    case NOT_NEG: notNeg(i); break;
                    case NOP: pending++; break;
                    case SETCC: setcc(i); break;
                    case MOVSXD: movsxd(i); break;
                    case PUSH_R: pushReg(k, i); break;
                    case POP_R: popReg(k, i); break;
                    case CALL_REL: callRel(k, i); break;
                    case RET_NEAR: ret(k); break;
                    case JCC: jcc(k, i); break;
                    case JMP: jmp(k, i); break;
                    case MOV_RM: case MOVZX_M: load(k, i); break;
                    case MOV_MR: case MOV_MI: store(k, i); break;
                    case ALU_RM: case ALU_MR: case ALU_MI: aluMemory(k, i); break;
                    default: call(k, i); break;
                }
            }
            // fell through past the last instruction
            flush(offset[n]);
            m.visitLabel(tryEnd);
            m.visitLabel(exitTrue);
            m.visitInsn(ICONST_1);
            m.visitInsn(IRETURN);
            m.visitLabel(refuse);
            m.visitInsn(ICONST_0);
            m.visitInsn(IRETURN);

            m.visitLabel(handler);
            m.visitVarInsn(ASTORE, EXC);
            Label rethrow = new Label();
            Label[] fixups = new Label[n];
            for (int k = 0; k < n; k++) {
                fixups[k] = pendingAtFault[k] >= 0 ? new Label() : rethrow;
            }
            m.visitVarInsn(ILOAD, K);
            m.visitTableSwitchInsn(0, n - 1, rethrow, fixups);
            for (int k = 0; k < n; k++) {
                if (pendingAtFault[k] >= 0) {
                    m.visitLabel(fixups[k]);
                    pending = pendingAtFault[k];
                    flush(offset[k]);
                    m.visitJumpInsn(GOTO, rethrow);
                }
            }
            m.visitLabel(rethrow);
            m.visitVarInsn(ALOAD, EXC);
            m.visitInsn(ATHROW);
        }

        /** if (x.budgetLeft < n) goto fail */
        private void budgetCheck(Label fail) {
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "budgetLeft", "J");
            m.visitLdcInsn((long) n);
            m.visitInsn(LCMP);
            m.visitJumpInsn(IFLT, fail);
        }

        /** Pushes entry + delta as a RIP (wrapped to 32 bits outside 64-bit mode, as Executor.finish does). */
        private void pushRip(long delta) {
            m.visitVarInsn(LLOAD, ENTRY);
            if (delta != 0) {
                m.visitLdcInsn(delta);
                m.visitInsn(LADD);
            }
            if (!mode64) {
                m.visitLdcInsn(0xFFFF_FFFFL);
                m.visitInsn(LAND);
            }
        }

        /** RIP = entry + delta; the pending instructions retire (count, TSC) and leave the budget. */
        private void flush(long delta) {
            m.visitVarInsn(ALOAD, S);
            pushRip(delta);
            m.visitFieldInsn(PUTFIELD, STATE, "rip", "J");
            retirePending();
        }

        /** The pending instructions retire (count, TSC) and leave the budget. */
        private void retirePending() {
            if (pending > 0) {
                addLongField(S, STATE, "instructionsRetired", pending);
                addLongField(S, STATE, "tsc", pending);
                addLongField(X, EXECUTOR, "budgetLeft", -pending);
                pending = 0;
            }
        }

        private void addLongField(int local, String owner, String field, long delta) {
            m.visitVarInsn(ALOAD, local);
            m.visitInsn(DUP);
            m.visitFieldInsn(GETFIELD, owner, field, "J");
            m.visitLdcInsn(delta);
            m.visitInsn(LADD);
            m.visitFieldInsn(PUTFIELD, owner, field, "J");
        }

        // ------------------------------------------------------------------ registers

        /** Pushes register r, masked to size (4 or 8). */
        private void loadReg(int r, int size) {
            m.visitVarInsn(ALOAD, G);
            m.visitLdcInsn(r);
            m.visitInsn(LALOAD);
            if (size == 4) {
                m.visitLdcInsn(0xFFFF_FFFFL);
                m.visitInsn(LAND);
            }
        }

        /** Register r = local (already masked to the size; a 32-bit write zero-extends, SDM Vol. 1 3.4.1.1). */
        private void storeReg(int r, int local) {
            m.visitVarInsn(ALOAD, G);
            m.visitLdcInsn(r);
            m.visitVarInsn(LLOAD, local);
            m.visitInsn(LASTORE);
        }

        private void mask(int size) {
            if (size == 4) {
                m.visitLdcInsn(0xFFFF_FFFFL);
                m.visitInsn(LAND);
            }
        }

        /** s.lazyOp = op; s.lazySize = size; s.lazyA/B/R = locals A, B, R. */
        private void recordFlags(int op, int size) {
            m.visitVarInsn(ALOAD, S);
            m.visitLdcInsn(op);
            m.visitFieldInsn(PUTFIELD, STATE, "lazyOp", "I");
            m.visitVarInsn(ALOAD, S);
            m.visitLdcInsn(size);
            m.visitFieldInsn(PUTFIELD, STATE, "lazySize", "I");
            for (String f : new String[] {"lazyA", "lazyB", "lazyR"}) {
                m.visitVarInsn(ALOAD, S);
                m.visitVarInsn(LLOAD, f.equals("lazyA") ? A : f.equals("lazyB") ? B : R);
                m.visitFieldInsn(PUTFIELD, STATE, f, "J");
            }
            lastFlags = op;
            lastSize = size;
        }

        // ------------------------------------------------------------------ the inline forms

        private void movRR(Insn i) {
            int dst = i.opcode == 0x89 ? i.rm : i.reg;
            int src = i.opcode == 0x89 ? i.reg : i.rm;
            loadReg(src, i.opSize);
            m.visitVarInsn(LSTORE, T);
            storeReg(dst, T);
            pending++;
        }

        private void movRI(Insn i) {
            int dst = i.opcode == 0xC7 ? i.rm : (i.opcode & 7) | ((i.rex & 1) << 3);
            m.visitLdcInsn(i.opSize == 4 ? i.imm & 0xFFFF_FFFFL : i.imm);
            m.visitVarInsn(LSTORE, T);
            storeReg(dst, T);
            pending++;
        }

        private void aluRR(Insn i) {
            int aop;
            int dst;
            int src;
            if (i.opcode == 0x85 || i.opcode == 0x84) {
                aop = TEST;
                dst = i.rm;
                src = i.reg;
            } else {
                aop = i.opcode >>> 3;
                boolean toRm = (i.opcode & 7) <= 1; // Eb,Gb / Ev,Gv: the r/m operand is the destination
                dst = toRm ? i.rm : i.reg;
                src = toRm ? i.reg : i.rm;
            }
            int size = operandSize(i);
            loadOperandReg(dst, size);
            m.visitVarInsn(LSTORE, A);
            loadOperandReg(src, size);
            m.visitVarInsn(LSTORE, B);
            alu(aop, dst, size);
        }

        private void aluRI(Insn i) {
            int op = i.opcode;
            int aop;
            int dst;
            if (op == 0xA8 || op == 0xA9 || op == 0xF6 || op == 0xF7) {
                aop = TEST;
                dst = op == 0xA8 || op == 0xA9 ? 0 : i.rm;
            } else if (op < 0x40) {
                aop = op >>> 3;
                dst = 0; // AL / rAX
            } else {
                aop = i.regOp();
                dst = i.rm;
            }
            int size = operandSize(i);
            loadOperandReg(dst, size);
            m.visitVarInsn(LSTORE, A);
            m.visitLdcInsn(i.imm & Alu.mask(size));
            m.visitVarInsn(LSTORE, B);
            alu(aop, dst, size);
        }

        /** R = A op B, the flags recorded, the register written (not for CMP, TEST). */
        private void alu(int aop, int dst, int size) {
            int kind;
            m.visitVarInsn(LLOAD, A);
            m.visitVarInsn(LLOAD, B);
            switch (aop) {
                case Alu.ADD: m.visitInsn(LADD); maskTo(size); kind = CpuState.LAZY_ADD; break;
                case Alu.ADC: m.visitInsn(LADD); carryIn(); maskTo(size); kind = CpuState.LAZY_ADD; break;
                case Alu.SUB: case Alu.CMP: m.visitInsn(LSUB); maskTo(size); kind = CpuState.LAZY_SUB; break;
                case Alu.OR: m.visitInsn(LOR); kind = CpuState.LAZY_LOGIC; break;
                case Alu.XOR: m.visitInsn(LXOR); kind = CpuState.LAZY_LOGIC; break;
                default: m.visitInsn(LAND); kind = CpuState.LAZY_LOGIC; break; // AND, TEST
            }
            m.visitVarInsn(LSTORE, R);
            if (aop != Alu.CMP && aop != TEST) {
                storeOperandReg(dst, size, R);
            }
            if (kind == CpuState.LAZY_LOGIC) {
                // the lazy logic record holds a = b = 0 (CpuState.lazyFlags' convention)
                m.visitInsn(LCONST_0);
                m.visitVarInsn(LSTORE, A);
                m.visitInsn(LCONST_0);
                m.visitVarInsn(LSTORE, B);
            }
            recordFlags(kind, size);
            pending++;
        }

        private void incDec(Insn i) {
            boolean dec = i.regOp() == 1;
            int size = i.opSize;
            // CF is kept: read it before the record changes
            m.visitVarInsn(ALOAD, S);
            m.visitInsn(DUP);
            m.visitMethodInsn(INVOKEVIRTUAL, STATE, "cf", "()J", false);
            m.visitFieldInsn(PUTFIELD, STATE, "lazyCf", "J");
            loadReg(i.rm, size);
            m.visitVarInsn(LSTORE, A);
            m.visitInsn(LCONST_1);
            m.visitVarInsn(LSTORE, B);
            m.visitVarInsn(LLOAD, A);
            m.visitInsn(LCONST_1);
            m.visitInsn(dec ? LSUB : LADD);
            mask(size);
            m.visitVarInsn(LSTORE, R);
            storeReg(i.rm, R);
            recordFlags(dec ? CpuState.LAZY_DEC : CpuState.LAZY_INC, size);
            pending++;
        }

        private void lea(int k, Insn i) {
            // the effective address from the registers now (Executor.ea), truncated to the operand size
            effectiveAddress(k, i);
            if (i.addrSize == 4) {
                mask(4);
            } else if (i.addrSize == 2) {
                m.visitLdcInsn(0xFFFFL);
                m.visitInsn(LAND);
            }
            mask(i.opSize);
            m.visitVarInsn(LSTORE, T);
            storeReg(i.reg, T);
            pending++;
        }

        private void movzx(Insn i) {
            m.visitVarInsn(ALOAD, G);
            m.visitLdcInsn(i.rm);
            m.visitInsn(LALOAD);
            m.visitLdcInsn(i.opcode == 0xB6 ? 0xFFL : 0xFFFFL);
            m.visitInsn(LAND);
            m.visitVarInsn(LSTORE, T);
            storeReg(i.reg, T);
            pending++;
        }

        /**
         * SHL/SAL, SHR, SAR of a register by an immediate, by 1 or by CL (ShiftOps.Shift): a masked count of 0 changes
         * no flag and leaves the register (a 32-bit one zero-extended); otherwise the lazy shift record.
         */
        private void shift(Insn i) {
            int size = operandSize(i);
            int countMask = size == 8 ? 0x3F : 0x1F;
            int cnt = (i.opcode == 0xD0 || i.opcode == 0xD1 ? 1 : (int) i.imm) & countMask;
            if (i.opcode != 0xD2 && i.opcode != 0xD3 && cnt == 0) {
                // no flags: A, B, R keep the last record; a 32-bit register is still zero-extended
                if (size == 4) {
                    loadReg(i.rm, 4);
                    m.visitVarInsn(LSTORE, T);
                    storeReg(i.rm, T);
                }
                pending++;
                return;
            }
            loadOperandReg(i.rm, size);
            m.visitVarInsn(LSTORE, A);
            if (i.opcode == 0xD2 || i.opcode == 0xD3) {
                // B = CL & mask, known only at run time
                m.visitVarInsn(ALOAD, G);
                m.visitLdcInsn(Executor.RCX);
                m.visitInsn(LALOAD);
                m.visitLdcInsn((long) countMask);
                m.visitInsn(LAND);
                m.visitVarInsn(LSTORE, B);
                Label shifts = new Label();
                Label done = new Label();
                m.visitVarInsn(LLOAD, B);
                m.visitInsn(LCONST_0);
                m.visitInsn(LCMP);
                m.visitJumpInsn(IFNE, shifts);
                if (size == 4) {
                    storeReg(i.rm, A); // Executor.zeroExtendOnCountZero
                }
                m.visitJumpInsn(GOTO, done);
                m.visitLabel(shifts);
                shiftBy(i, size, () -> {
                    m.visitVarInsn(LLOAD, B);
                    m.visitInsn(L2I);
                });
                m.visitLabel(done);
                lastFlags = 0; // the record may or may not have changed
                pending++;
                return;
            }
            m.visitLdcInsn((long) cnt);
            m.visitVarInsn(LSTORE, B);
            shiftBy(i, size, () -> m.visitLdcInsn(cnt));
            pending++;
        }

        /** R = A shifted by the count {@code count} pushes (1..63, also in B); the register written, flags recorded. */
        private void shiftBy(Insn i, int size, Runnable count) {
            int kind;
            m.visitVarInsn(LLOAD, A);
            switch (i.regOp()) {
                case 5:
                    count.run();
                    m.visitInsn(LUSHR);
                    kind = CpuState.LAZY_SHR;
                    break;
                case 7:
                    signExtendTo64(size);
                    count.run();
                    m.visitInsn(LSHR);
                    maskTo(size);
                    kind = CpuState.LAZY_SAR;
                    break;
                default: // 4 SHL, 6 SAL
                    count.run();
                    m.visitInsn(LSHL);
                    maskTo(size);
                    kind = CpuState.LAZY_SHL;
                    break;
            }
            m.visitVarInsn(LSTORE, R);
            storeOperandReg(i.rm, size, R);
            recordFlags(kind, size);
        }

        /**
         * CMOVcc r, r (SystemOps.execute0F): the source if the condition holds; a 32-bit destination is zero-extended
         * even when it does not. No flag changes.
         */
        private void cmov(Insn i) {
            Label taken = new Label();
            Label done = new Label();
            int flags = lastFlags;
            condition(i.opcode & 0xF, taken);
            if (i.opSize == 4) {
                loadReg(i.reg, 4);
                m.visitVarInsn(LSTORE, T);
                storeReg(i.reg, T);
            }
            m.visitJumpInsn(GOTO, done);
            m.visitLabel(taken);
            loadReg(i.rm, i.opSize);
            m.visitVarInsn(LSTORE, T);
            storeReg(i.reg, T);
            m.visitLabel(done);
            lastFlags = flags;
            pending++;
        }

        /** SETcc r8 (SystemOps.execute0F): 1 or 0 in the low byte, not AH..BH. No flag changes. */
        private void setcc(Insn i) {
            Label taken = new Label();
            Label done = new Label();
            int flags = lastFlags;
            condition(i.opcode & 0xF, taken);
            m.visitInsn(LCONST_0);
            m.visitJumpInsn(GOTO, done);
            m.visitLabel(taken);
            m.visitInsn(LCONST_1);
            m.visitLabel(done);
            m.visitVarInsn(LSTORE, T);
            storeOperandReg(i.rm, 1, T);
            lastFlags = flags;
            pending++;
        }

        /** MOVSXD r, r32 (MoveOps MOVSXD): sign-extended to 64 bits, or a 32-bit copy zero-extended. */
        private void movsxd(Insn i) {
            loadReg(i.rm, 4);
            if (i.opSize == 8) {
                m.visitInsn(L2I);
                m.visitInsn(I2L);
            }
            m.visitVarInsn(LSTORE, T);
            storeReg(i.reg, T);
            pending++;
        }

        /** IMUL r, r (0F AF): the product and its flags, set eagerly, by CpuState.imul as the interpreter does. */
        private void imul(Insn i) {
            m.visitVarInsn(ALOAD, S);
            loadReg(i.reg, i.opSize);
            loadReg(i.rm, i.opSize);
            m.visitLdcInsn(i.opSize);
            m.visitMethodInsn(INVOKEVIRTUAL, STATE, "imul", "(JJI)J", false);
            m.visitVarInsn(LSTORE, T);
            storeReg(i.reg, T);
            lastFlags = 0;
            pending++;
        }

        /** NOT r (no flags) and NEG r (the flags of 0 - r: Alu.neg). */
        private void notNeg(Insn i) {
            int size = i.opSize;
            if (i.regOp() == 2) {
                loadReg(i.rm, size);
                m.visitLdcInsn(-1L);
                m.visitInsn(LXOR);
                mask(size);
                m.visitVarInsn(LSTORE, T);
                storeReg(i.rm, T);
                pending++;
                return;
            }
            loadReg(i.rm, size);
            m.visitVarInsn(LSTORE, B);
            m.visitInsn(LCONST_0);
            m.visitVarInsn(LSTORE, A);
            m.visitVarInsn(LLOAD, B);
            m.visitInsn(LNEG);
            mask(size);
            m.visitVarInsn(LSTORE, R);
            storeReg(i.rm, R);
            recordFlags(CpuState.LAZY_SUB, size);
            pending++;
        }

        // ------------------------------------------------------------------ memory operands (64-bit mode)

        /** Pushes disp + base + index << scale (+ the next RIP if RIP-relative), before any address-size wrap. */
        private void effectiveAddress(int k, Insn i) {
            m.visitLdcInsn(i.disp);
            if (i.base >= 0) {
                loadReg(i.base, 8);
                m.visitInsn(LADD);
            }
            if (i.index >= 0) {
                loadReg(i.index, 8);
                if (i.scale != 0) {
                    m.visitLdcInsn(i.scale);
                    m.visitInsn(LSHL);
                }
                m.visitInsn(LADD);
            }
            if (i.ripRel) {
                pushRip(offset[k + 1]);
                m.visitInsn(LADD);
            }
        }

        /**
         * LIN = the linear address of instruction k's memory operand (Executor.ea and lin: the FS/GS base, the
         * canonical check with #SS(0) for SS-relative and #GP(0) for other addresses, SDM Vol. 3A 3.3.7.1); from here
         * the instruction may fault, so K says which one it is.
         */
        private void linearAddress(int k, Insn i) {
            mayFault(k, pending);
            effectiveAddress(k, i);
            if (i.addrSize == 4) {
                mask(4);
            }
            if (i.eaSeg == CpuState.FS || i.eaSeg == CpuState.GS) {
                m.visitVarInsn(ALOAD, S);
                m.visitFieldInsn(GETFIELD, STATE, "seg", "[L" + SEGMENT + ";");
                m.visitLdcInsn(i.eaSeg);
                m.visitInsn(AALOAD);
                m.visitFieldInsn(GETFIELD, SEGMENT, "base", "J");
                m.visitInsn(LADD);
            }
            m.visitVarInsn(LSTORE, LIN);
            faultIfNotCanonical(LIN, i.eaSeg == CpuState.SS ? io.jvmx.vmx.api.arch.Exceptions.SS
                    : io.jvmx.vmx.api.arch.Exceptions.GP);
        }

        /** Throws {@code vector}(0) if the address in {@code local} is not canonical (Executor.lin, nearTarget). */
        private void faultIfNotCanonical(int local, int vector) {
            Label canonical = new Label();
            m.visitVarInsn(LLOAD, local);
            m.visitLdcInsn(16);
            m.visitInsn(LSHL);
            m.visitLdcInsn(16);
            m.visitInsn(LSHR);
            m.visitVarInsn(LLOAD, local);
            m.visitInsn(LCMP);
            m.visitJumpInsn(IFEQ, canonical);
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "fault", "L" + FAULT + ";");
            m.visitLdcInsn(vector);
            m.visitInsn(ICONST_0);
            m.visitMethodInsn(INVOKEVIRTUAL, FAULT, "set", "(II)L" + FAULT + ";", false);
            m.visitInsn(ATHROW);
            m.visitLabel(canonical);
        }

        /** From here instruction k may fault: with the state before it, {@code pending} instructions to retire. */
        private void mayFault(int k, int pendingBefore) {
            pendingAtFault[k] = pendingBefore;
            m.visitLdcInsn(k);
            m.visitVarInsn(ISTORE, K);
        }

        // ------------------------------------------------------------------ the stack (64-bit mode, 64-bit operands)

        /** LIN = RSP + delta, checked as a stack address (#SS(0) if not canonical). */
        private void stackAddress(long delta) {
            loadReg(Executor.RSP, 8);
            if (delta != 0) {
                m.visitLdcInsn(delta);
                m.visitInsn(LADD);
            }
            m.visitVarInsn(LSTORE, LIN);
            faultIfNotCanonical(LIN, io.jvmx.vmx.api.arch.Exceptions.SS);
        }

        /** Writes local {@code value} at RSP - 8 (Executor.push): RSP changes only once the write is done. */
        private void push(int value) {
            stackAddress(-8);
            writeMemory(8, value);
            storeReg(Executor.RSP, LIN);
        }

        /** PUSH r64 (MoveOps PUSH_REG): the register's value before RSP changes (PUSH RSP pushes the old RSP). */
        private void pushReg(int k, Insn i) {
            mayFault(k, pending);
            loadReg((i.opcode & 7) | ((i.rex & 1) << 3), 8);
            m.visitVarInsn(LSTORE, T);
            push(T);
            leaveIfPageWritten(k);
            pending++;
        }

        /** POP r64 (MoveOps POP_REG): RSP + 8 first, then the register, so POP RSP leaves the popped value. */
        private void popReg(int k, Insn i) {
            mayFault(k, pending);
            stackAddress(0);
            readMemory(8);
            m.visitVarInsn(LSTORE, T);
            popped();
            storeReg((i.opcode & 7) | ((i.rex & 1) << 3), T);
            pending++;
        }

        /**
         * CALL rel32 (BranchOps CALL_REL): the target checked (#GP(0)) before the return address is pushed; then out of
         * the block at the target.
         */
        private void callRel(int k, Insn i) {
            int target = offset[k + 1] + (int) i.imm;
            mayFault(k, pending);
            pushRip(target);
            m.visitVarInsn(LSTORE, T);
            faultIfNotCanonical(T, io.jvmx.vmx.api.arch.Exceptions.GP);
            pushRip(offset[k + 1]);
            m.visitVarInsn(LSTORE, T);
            push(T);
            pending++;
            flush(target);
            m.visitJumpInsn(GOTO, exitTrue);
            afterLeaving(k);
        }

        /** RET (BranchOps RET_NEAR): the return address read and checked (#GP(0)) before RSP changes; out at it. */
        private void ret(int k) {
            mayFault(k, pending);
            stackAddress(0);
            readMemory(8);
            m.visitVarInsn(LSTORE, T);
            faultIfNotCanonical(T, io.jvmx.vmx.api.arch.Exceptions.GP);
            popped();
            pending++;
            m.visitVarInsn(ALOAD, S);
            m.visitVarInsn(LLOAD, T);
            m.visitFieldInsn(PUTFIELD, STATE, "rip", "J");
            retirePending();
            m.visitJumpInsn(GOTO, exitTrue);
            afterLeaving(k);
        }

        /** RSP = LIN + 8: the quadword at LIN (the old RSP) is popped (A, B, R hold the flags record: not used). */
        private void popped() {
            m.visitVarInsn(LLOAD, LIN);
            m.visitLdcInsn(8L);
            m.visitInsn(LADD);
            m.visitVarInsn(LSTORE, LIN);
            storeReg(Executor.RSP, LIN);
        }

        /** After an instruction that always leaves: what follows is reached only by a jump to it. */
        private void afterLeaving(int k) {
            lastFlags = 0;
            if (k < n - 1) {
                pending = 0;
            }
        }

        /** Pushes the value of {@code size} bytes at LIN (Mmu.read: paging, EPT, page-crossing). */
        private void readMemory(int size) {
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "m", "L" + MMU + ";");
            m.visitVarInsn(LLOAD, LIN);
            m.visitLdcInsn(size);
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "dataPriv", "I");
            m.visitMethodInsn(INVOKEVIRTUAL, MMU, "read", "(JII)J", false);
        }

        /**
         * Writes local {@code value} ({@code size} bytes) at LIN, then leaves the block if the write hit the block's
         * own page (its decodings are gone): with the instruction retired, RIP at the next one.
         */
        private void writeMemory(int size, int value) {
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "m", "L" + MMU + ";");
            m.visitVarInsn(LLOAD, LIN);
            m.visitLdcInsn(size);
            m.visitVarInsn(LLOAD, value);
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETFIELD, EXECUTOR, "dataPriv", "I");
            m.visitMethodInsn(INVOKEVIRTUAL, MMU, "write", "(JIJI)V", false);
        }

        /** After a store: out of the block, the instruction retired, if the store hit the block's page. */
        private void leaveIfPageWritten(int k) {
            Label same = new Label();
            m.visitFieldInsn(GETSTATIC, name, "page", "L" + PAGE + ";");
            m.visitFieldInsn(GETFIELD, PAGE, "valid", "Z");
            m.visitJumpInsn(IFNE, same);
            int p = pending;
            pending = p + 1;
            flush(offset[k + 1]);
            m.visitJumpInsn(GOTO, exitTrue);
            m.visitLabel(same);
            pending = p;
        }

        /** A byte register (never AH..BH here) or a 16/32/64-bit one, masked to size. */
        private void loadOperandReg(int r, int size) {
            if (size <= 2) {
                m.visitVarInsn(ALOAD, G);
                m.visitLdcInsn(r);
                m.visitInsn(LALOAD);
                m.visitLdcInsn(Alu.mask(size));
                m.visitInsn(LAND);
            } else {
                loadReg(r, size);
            }
        }

        /** Register r = local (masked to size); a byte or word write keeps the bits above (SDM Vol. 1, 3.4.1.1). */
        private void storeOperandReg(int r, int size, int local) {
            if (size <= 2) {
                m.visitVarInsn(ALOAD, G);
                m.visitLdcInsn(r);
                m.visitVarInsn(ALOAD, G);
                m.visitLdcInsn(r);
                m.visitInsn(LALOAD);
                m.visitLdcInsn(~Alu.mask(size));
                m.visitInsn(LAND);
                m.visitVarInsn(LLOAD, local);
                m.visitInsn(LOR);
                m.visitInsn(LASTORE);
            } else {
                storeReg(r, local);
            }
        }

        private static int operandSize(Insn i) {
            int op = i.opcode;
            boolean bytes = i.map == Insn.MAP_1 && (op == 0x88 || op == 0x8A || op == 0xC6 || op == 0x80 || op == 0xF6
                    || op == 0x84 || op == 0xA8 || op == 0xC0 || op == 0xD0 || op == 0xD2
                    || (op < 0x40 && ((op & 7) == 0 || (op & 7) == 2 || (op & 7) == 4)));
            return bytes ? 1 : i.opSize;
        }

        /** MOV r, m and MOVZX r, m. */
        private void load(int k, Insn i) {
            int size = operandSize(i);
            boolean movzx = i.map == Insn.MAP_0F;
            linearAddress(k, i);
            readMemory(movzx ? (i.opcode == 0xB6 ? 1 : 2) : size);
            m.visitVarInsn(LSTORE, T);
            if (movzx) {
                storeReg(i.reg, T);
            } else {
                storeOperandReg(i.reg, size, T);
            }
            pending++;
        }

        /** MOV m, r and MOV m, imm. */
        private void store(int k, Insn i) {
            int size = operandSize(i);
            linearAddress(k, i);
            if (i.opcode == 0xC6 || i.opcode == 0xC7) {
                m.visitLdcInsn(size == 8 ? i.imm : i.imm & Alu.mask(size));
            } else {
                loadOperandReg(i.reg, size);
            }
            m.visitVarInsn(LSTORE, T);
            writeMemory(size, T);
            leaveIfPageWritten(k);
            pending++;
        }

        /** ALU r, m; ALU m, r (TEST m, r); ALU m, imm (TEST m, imm): flags recorded after any write. */
        private void aluMemory(int k, Insn i) {
            int f = form(i);
            int op = i.opcode;
            int size = operandSize(i);
            int aop;
            if (f == ALU_MI) {
                aop = op == 0xF6 || op == 0xF7 ? TEST : i.regOp();
            } else if (op == 0x85) {
                aop = TEST;
            } else {
                aop = op >>> 3;
            }
            linearAddress(k, i);
            readMemory(size);
            if (f == ALU_RM) {
                // register = register op memory
                m.visitVarInsn(LSTORE, B);
                loadOperandReg(i.reg, size);
                m.visitVarInsn(LSTORE, A);
            } else {
                m.visitVarInsn(LSTORE, A);
                if (f == ALU_MI) {
                    m.visitLdcInsn(size == 8 ? i.imm : i.imm & Alu.mask(size));
                } else {
                    loadOperandReg(i.reg, size);
                }
                m.visitVarInsn(LSTORE, B);
            }
            int kind;
            m.visitVarInsn(LLOAD, A);
            m.visitVarInsn(LLOAD, B);
            switch (aop) {
                case Alu.ADD: m.visitInsn(LADD); maskTo(size); kind = CpuState.LAZY_ADD; break;
                case Alu.ADC: m.visitInsn(LADD); carryIn(); maskTo(size); kind = CpuState.LAZY_ADD; break;
                case Alu.SUB: case Alu.CMP: m.visitInsn(LSUB); maskTo(size); kind = CpuState.LAZY_SUB; break;
                case Alu.OR: m.visitInsn(LOR); kind = CpuState.LAZY_LOGIC; break;
                case Alu.XOR: m.visitInsn(LXOR); kind = CpuState.LAZY_LOGIC; break;
                default: m.visitInsn(LAND); kind = CpuState.LAZY_LOGIC; break;
            }
            m.visitVarInsn(LSTORE, R);
            boolean writes = aop != Alu.CMP && aop != TEST;
            if (writes && f == ALU_RM) {
                storeOperandReg(i.reg, size, R);
            } else if (writes) {
                writeMemory(size, R);
            }
            if (kind == CpuState.LAZY_LOGIC) {
                m.visitInsn(LCONST_0);
                m.visitVarInsn(LSTORE, A);
                m.visitInsn(LCONST_0);
                m.visitVarInsn(LSTORE, B);
            }
            recordFlags(kind, size);
            if (writes && f != ALU_RM) {
                leaveIfPageWritten(k);
            }
            pending++;
        }

        /**
         * Adds CF (Alu.arith's ADC: the record of the last flag-setting instruction is always in the state's lazy
         * fields, so CpuState.cf reads it; the lazy ADD record of ADC holds r with the carry included).
         */
        private void carryIn() {
            m.visitVarInsn(ALOAD, S);
            m.visitMethodInsn(INVOKEVIRTUAL, STATE, "cf", "()J", false);
            m.visitInsn(LADD);
        }

        private void maskTo(int size) {
            if (size != 8) {
                m.visitLdcInsn(Alu.mask(size));
                m.visitInsn(LAND);
            }
        }

        // ------------------------------------------------------------------ control transfers

        private void jcc(int k, Insn i) {
            int cc = i.opcode & 0xF;
            Label taken = new Label();
            condition(cc, taken);
            // not taken: on to the next instruction
            pending++;
            int pendingHere = pending;
            int flagsHere = lastFlags;
            int sizeHere = lastSize;
            Label next = new Label();
            m.visitJumpInsn(GOTO, next);
            m.visitLabel(taken);
            pending = pendingHere;
            transfer(k, i);
            m.visitLabel(next);
            pending = pendingHere;
            lastFlags = flagsHere;
            lastSize = sizeHere;
        }

        private void jmp(int k, Insn i) {
            pending++;
            transfer(k, i);
            lastFlags = 0;
            if (k < n - 1) {
                // what follows is reached only by a jump to it: start a fresh straight line there
                pending = 0;
            }
        }

        /** The jump of instruction k is taken (already counted in pending): in the block, or out of it. */
        private void transfer(int k, Insn i) {
            int target = offset[k + 1] + (int) i.imm;
            Integer j = jumpTargets.get(target);
            if (j != null) {
                flush(target);
                // round again only if the budget still covers the whole block (else the interpreter goes on)
                budgetCheck(exitTrue);
                m.visitJumpInsn(GOTO, at[j]);
                return;
            }
            long inPage = pageOffset + (long) target;
            if (mode64 && (inPage < 0 || inPage >= 4096)) {
                // out of the page in 64-bit mode: a non-canonical target is #GP(0) with the jump not retired
                // (Executor.nearTarget); outside it, compiled blocks run only with CS base 0 and limit 4 GiB, where
                // every 32-bit target is within the limit
                nonCanonicalTargetFaults(k, target);
            }
            flush(target);
            m.visitJumpInsn(GOTO, exitTrue);
        }

        /** #GP(0) if entry + target is not canonical, with the state before jump k (counted in pending). */
        private void nonCanonicalTargetFaults(int k, int target) {
            mayFault(k, pending - 1);
            pushRip(target);
            m.visitVarInsn(LSTORE, T);
            faultIfNotCanonical(T, io.jvmx.vmx.api.arch.Exceptions.GP);
        }

        /** Jumps to {@code taken} if condition cc holds. */
        private void condition(int cc, Label taken) {
            int group = cc >>> 1;
            boolean negate = (cc & 1) != 0;
            int flags = lastFlags;
            int size = lastSize;
            if (flags == CpuState.LAZY_SUB && group != 0 && group != 5) {
                // the compare's operands are in A and B (masked), its result in R
                switch (group) {
                    case 1: unsignedCompare(negate ? IFGE : IFLT, taken); return;   // B / AE
                    case 2: longCompare(A, B, negate ? IFNE : IFEQ, taken); return;    // E / NE
                    case 3: unsignedCompare(negate ? IFGT : IFLE, taken); return;   // BE / A
                    case 4: signOf(R, size, negate ? IFGE : IFLT, taken); return;   // S / NS
                    case 6: signedCompare(size, negate ? IFGE : IFLT, taken); return; // L / GE
                    default: signedCompare(size, negate ? IFGT : IFLE, taken); return; // LE / G
                }
            }
            if (flags == CpuState.LAZY_LOGIC && group != 5) {
                switch (group) {
                    case 0: case 1:                                                  // O, B: never; NO, AE: always
                        if (negate) {
                            m.visitJumpInsn(GOTO, taken);
                        }
                        return;
                    case 2: case 3: zeroTest(negate ? IFNE : IFEQ, taken); return;    // E, BE / NE, A
                    case 4: case 6: signOf(R, size, negate ? IFGE : IFLT, taken); return; // S, L / NS, GE
                    default: {                                                         // LE / G
                        m.visitVarInsn(LLOAD, R);
                        signExtendTo64(size);
                        m.visitInsn(LCONST_0);
                        m.visitInsn(LCMP);
                        m.visitJumpInsn(negate ? IFGT : IFLE, taken);
                        return;
                    }
                }
            }
            // anything else: ask the flags record
            m.visitVarInsn(ALOAD, S);
            m.visitLdcInsn(cc);
            m.visitMethodInsn(INVOKEVIRTUAL, STATE, "condition", "(I)Z", false);
            m.visitJumpInsn(IFNE, taken);
        }

        private void unsignedCompare(int branch, Label taken) {
            m.visitVarInsn(LLOAD, A);
            m.visitVarInsn(LLOAD, B);
            m.visitMethodInsn(INVOKESTATIC, "java/lang/Long", "compareUnsigned", "(JJ)I", false);
            m.visitJumpInsn(branch, taken);
        }

        private void longCompare(int x, int y, int branch, Label taken) {
            m.visitVarInsn(LLOAD, x);
            m.visitVarInsn(LLOAD, y);
            m.visitInsn(LCMP);
            m.visitJumpInsn(branch, taken);
        }

        private void signedCompare(int size, int branch, Label taken) {
            m.visitVarInsn(LLOAD, A);
            signExtendTo64(size);
            m.visitVarInsn(LLOAD, B);
            signExtendTo64(size);
            m.visitInsn(LCMP);
            m.visitJumpInsn(branch, taken);
        }

        private void signOf(int local, int size, int branch, Label taken) {
            m.visitVarInsn(LLOAD, local);
            signExtendTo64(size);
            m.visitInsn(LCONST_0);
            m.visitInsn(LCMP);
            m.visitJumpInsn(branch, taken);
        }

        private void zeroTest(int branch, Label taken) {
            m.visitVarInsn(LLOAD, R);
            m.visitInsn(LCONST_0);
            m.visitInsn(LCMP);
            m.visitJumpInsn(branch, taken);
        }

        private void signExtendTo64(int size) {
            if (size == 8) {
                return;
            }
            m.visitInsn(L2I);
            if (size == 1) {
                m.visitInsn(I2B);
            } else if (size == 2) {
                m.visitInsn(I2S);
            }
            m.visitInsn(I2L);
        }

        // ------------------------------------------------------------------ everything else: the op

        /**
         * Instruction k through its op, as Executor.runBlock does it: RIP and the counters up to date first (the op
         * may fault or exit and must find the interpreter's state), then the op, which retires the instruction
         * itself; one less in the budget; out if the page was written or RIP is not the next instruction.
         */
        private void call(int k, Insn i) {
            flush(offset[k]);
            m.visitLdcInsn(-1);
            m.visitVarInsn(ISTORE, K); // the op finds the state up to date: nothing to fix if it throws
            m.visitVarInsn(ALOAD, X);
            pushRip(offset[k]);
            m.visitFieldInsn(PUTFIELD, EXECUTOR, "startRip", "J");
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETSTATIC, name, "i" + k, "L" + INSN + ";");
            m.visitFieldInsn(PUTFIELD, EXECUTOR, "i", "L" + INSN + ";");
            m.visitFieldInsn(GETSTATIC, name, "op" + k, Type.getDescriptor(i.op.getClass()));
            m.visitVarInsn(ALOAD, X);
            m.visitFieldInsn(GETSTATIC, name, "i" + k, "L" + INSN + ";");
            m.visitMethodInsn(INVOKEVIRTUAL, Type.getInternalName(i.op.getClass()), "run", OP_RUN, false);
            addLongField(X, EXECUTOR, "budgetLeft", -1);
            m.visitFieldInsn(GETSTATIC, name, "page", "L" + PAGE + ";");
            m.visitFieldInsn(GETFIELD, PAGE, "valid", "Z");
            m.visitJumpInsn(IFEQ, exitTrue);
            m.visitVarInsn(ALOAD, S);
            m.visitFieldInsn(GETFIELD, STATE, "rip", "J");
            pushRip(offset[k + 1]);
            m.visitInsn(LCMP);
            m.visitJumpInsn(IFNE, exitTrue);
            lastFlags = 0; // whatever the op did to the flags is in the record, not in locals
        }
    }
}
