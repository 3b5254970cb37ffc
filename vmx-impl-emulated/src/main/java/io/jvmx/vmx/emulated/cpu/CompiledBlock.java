package io.jvmx.vmx.emulated.cpu;

/**
 * A hot run of decoded instructions translated to JVM bytecode by {@link BlockCompiler}. Executing it has exactly
 * the effects of executing its instructions one by one in Executor.runBlock: the same registers, flags, memory, RIP,
 * retired-instruction count and TSC, the same faults with the same state, the same VM exits.
 */
abstract class CompiledBlock {
    /**
     * Runs the block from its first instruction, which must be the one at RIP now, until an instruction goes to an
     * address the block does not hold, the block's page is written, or the block budget
     * ({@link Executor#budgetLeft}) could be exceeded by going round again.
     *
     * @return false if it ran nothing (the budget is smaller than the block, or RF is set): interpret instead
     */
    abstract boolean run(Executor x);
}
