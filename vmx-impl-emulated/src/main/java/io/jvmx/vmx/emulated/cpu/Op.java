package io.jvmx.vmx.emulated.cpu;

/**
 * The semantics of one instruction form, chosen once, when the instruction is decoded ({@link OpTable}), and run
 * every time it executes: operands come from the {@link Insn}, state is reached through the {@link Executor}. An op
 * either completes the instruction ({@link Executor#done()} or {@link Executor#finish(long)}), or raises a fault
 * ({@link CpuFault}) or a VM exit ({@link VmExitSignal}) before changing anything.
 *
 * <p>Ops are stateless and shared by every processor; a form that needs parameters (which ALU operation, which
 * condition) gets one instance per parameter value.
 */
abstract class Op {
    /** For people: the instruction form, e.g. "ADD Ev,Gv (reg)". */
    final String name;

    Op(String name) {
        this.name = name;
    }

    abstract void run(Executor x, Insn i);

    @Override
    public String toString() {
        return name;
    }
}
