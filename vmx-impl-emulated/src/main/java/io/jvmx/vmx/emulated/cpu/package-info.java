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
 * flags...) is in Executor, the system instructions are in SystemOps. LOCK's #UD rule is OpTable's, decided once for
 * every instruction: only the general-purpose read-modify-write forms the SDM's LOCK page lists may be locked, so
 * LOCK in front of any x87, MMX, SSE or XSAVE instruction is #UD before its op runs.
 *
 * <p>The x87 FPU: X87Ops (the forms, the register stack, exceptions and #MF), X87Images (FNSTENV/FLDENV,
 * FNSAVE/FRSTOR), ExtendedPrecision (the 80-bit arithmetic, correctly rounded) and X87Transcendentals
 * (the transcendental functions), on the state in X87State.
 *
 * <p>MMX, SSE-SSE4.2 and the XSAVE feature set: SseOps, MmxOps and XsaveOps choose the ops; SimdOperands holds their
 * checks (#UD, #NM, #MF, #XM), operands and scratch; PackedInteger and PackedShuffle the packed-integer operations
 * shared by the MMX and SSE forms; SimdFloat the floating-point arithmetic under MXCSR. XsaveOps also has FXSAVE and
 * FXRSTOR: their image is the XSAVE area's legacy region, which LegacyRegion alone encodes, for both families. The
 * SSE4.2 instructions that work on general-purpose registers are the general-purpose groups' (CRC32 in Crc32Ops,
 * POPCNT in BitOps), as is SSE2's MOVNTI (MoveOps).
 *
 * <p>Memory goes through Mmu: a TLB of 4-KiB pieces tagged with linear page and PCID (global entries serve every PCID),
 * invalidated as SDM Vol. 3A 4.10.4 says; its fast path is one tag compare and one rights bit, and everything that
 * must look at each access (a walk, #AC alignment checking, data breakpoints on watched pages) takes the slow path.
 *
 * <p>Debugging costs nothing until it is used (DebugRegisters): RFLAGS.TF, an enabled instruction breakpoint or a
 * pending debug trap make a block one instruction (Executor.runDebugBlock), where breakpoints are faults before the
 * fetch and single-step/data/I/O traps are delivered after the instruction, unless MOV SS holds them or an MTF VM exit
 * comes first. Event delivery (EventDelivery) and the far transfers (Segmentation) implement gates, stack switches
 * and privilege checks; task switches are VM exits in VMX non-root operation (the VMM performs them), made after the
 * checks the SDM lists before that exit. Virtual-8086 mode (Virtual8086: EFLAGS.VM = 1, CPL 3, 8086-style segment
 * loads, the IOPL-sensitive instructions with IOPL = 3 and < 3, CR4.VME's virtual interrupt flag and interrupt
 * redirection bit map, CR4.PVI's CLI/STI) is entered by an IRET from CPL 0 or by VM entry, and left by an interrupt
 * or exception to a ring-0 handler (EventDelivery's stack switch that saves and nulls the data segment registers);
 * Executor.vm86 and Executor.segments8086 tell the instructions which mode they run in.
 *
 * <p>MSRs: RDMSR/WRMSR (SystemOps) reach the registers of CpuState and ConfigurationMsrs (the MTRRs and
 * IA32_MISC_ENABLE), which the VMX layer's root-mode RDMSR/WRMSR share. There is no local APIC and so no
 * IA32_APIC_BASE, x2APIC or TSC-deadline MSR: in VMX the guest's local APIC is the VMM's (the local-apic bundle).
 *
 * <p>Adding an instruction: write its Op in the file of its group (or a new one for a new group), return it from the
 * group's {@code select} for its encodings, let OpTable ask that group, make CPUID say it exists (vmx.ProcessorModel),
 * and add its forms to the differential tests (src/test/.../differential), which run it on this machine's processor
 * too, in 64-bit mode, in 32-bit code and, through the 32-bit run, as 16-bit code. Faults are thrown as CpuFault
 * before any state changes; an Op completes with {@code x.done()} or {@code x.finish(target)}. Nothing on the
 * execution path allocates.
 */
package io.jvmx.vmx.emulated.cpu;
