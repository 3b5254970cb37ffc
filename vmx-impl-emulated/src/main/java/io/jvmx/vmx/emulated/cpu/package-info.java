/**
 * The x86-64 interpreter of the software VMX processor.
 *
 * <p>How it runs code. {@link io.jvmx.vmx.emulated.cpu.X86Interpreter#run} asks the VMX layer
 * ({@link io.jvmx.vmx.emulated.cpu.NonRootHooks}) for exits at an instruction boundary, then runs a block of
 * instructions (Executor.runBlock) of at most the budget the VMX layer allows (preemption timer, monitor trap flag,
 * kicks). An instruction is decoded once (Decoder: prefixes, REX, VEX, ModRM/SIB, immediates, per SDM Vol. 2 ch. 2)
 * into an Insn, kept by host-physical address in the CodeCache (dropped when its frame is written), and carries its
 * Op: the semantics of its form, chosen when decoded by OpTable. Instructions within a page are linked to their
 * successors, so a block goes from one to the next without lookups. Anything that may change the mode or what the
 * next boundary decides ends the block (Insn.endsBlock).
 *
 * <p>Flags are lazy (CpuState): the common arithmetic records its operands and result; RFLAGS is computed when read;
 * conditions are evaluated from the description. Read RFLAGS with {@code rflags()}, write it with
 * {@code setRflags()}, and use {@code rflagsControl()} for IF/DF/TF/AC/... without computing the status flags.
 *
 * <p>The general-purpose instructions live in groups, one file each: ArithmeticOps (ADD..CMP, INC/DEC, TEST, ADCX/ADOX),
 * MoveOps (MOV and its relatives, PUSH/POP of registers and immediates, MOVBE, MOVNTI), BranchOps (near Jcc, JMP,
 * CALL, RET), ShiftOps (SHL/SHR/SAR), BitOps (BT*, BSF/BSR, TZCNT/LZCNT/POPCNT, BSWAP), StackOps (the other stack
 * instructions, ENTER/LEAVE), StringOps (MOVS..OUTS with REP), ExchangeOps (XCHG, XADD, CMPXCHG*), BcdOps (DAA..AAD,
 * SALC), VexGprOps (BMI1/BMI2) and Crc32Ops; what is left of the one-byte map (rotates, MUL/DIV, far transfers, I/O,
 * flags...) is in Executor, the system instructions are in SystemOps. LOCK's #UD rule is OpTable's, decided once.
 *
 * <p>Adding an instruction: write its Op in the file of its group (or a new one for a new group), return it from the
 * group's {@code select} for its encodings, let OpTable ask that group, make CPUID say it exists (vmx.ProcessorModel),
 * and add its forms to the differential tests (src/test/.../differential), which run it on this machine's processor
 * too, in 64-bit mode, in 32-bit code and, through the 32-bit run, as 16-bit code. Faults are thrown as CpuFault
 * before any state changes; an Op completes with {@code x.done()} or {@code x.finish(target)}. Nothing on the
 * execution path allocates.
 */
package io.jvmx.vmx.emulated.cpu;
